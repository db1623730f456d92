import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daytona } from '@daytonaio/sdk';
import { AppError, silentLogger, type OutputChunk } from '@tinyb/core';
import { startFakeDaytona, type FakeDaytona } from '@tinyb/testkit/fake-daytona';
import { sandboxProviderContract } from '@tinyb/testkit/sandbox-contract';
import { DaytonaSandboxProvider, type DaytonaSandboxProviderOptions } from './daytona-sandbox-provider.js';

const apiKey = 'test-daytona-key';
const never = new AbortController().signal;
let fake: FakeDaytona;
/** A directory only the 'agents-image' snapshot has on its PATH, holding a `claude` of its own. */
const imageBin = mkdtempSync(join(tmpdir(), 'tinyb-image-bin-'));
const systemPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

beforeAll(async () => {
  writeFileSync(join(imageBin, 'claude'), '#!/bin/sh\necho "image claude $*"\n');
  chmodSync(join(imageBin, 'claude'), 0o755);
  fake = await startFakeDaytona({ apiKey, listPageSize: 2, imagePaths: { 'agents-image': `${imageBin}:${systemPath}` } });
});
afterAll(async () => {
  await fake.close();
  rmSync(imageBin, { recursive: true, force: true });
});

function providerOptions(overrides: Partial<DaytonaSandboxProviderOptions> = {}): DaytonaSandboxProviderOptions {
  return {
    daytona: { apiUrl: fake.apiUrl, apiKey, target: 'local', useDeprecatedPolling: true },
    snapshot: 'tiny-backspace-agents',
    autoStopIntervalMin: 30,
    autoDeleteIntervalMin: 0,
    createTimeoutSec: 30,
    killGraceMs: 500,
    logger: silentLogger,
    ...overrides,
  } as DaytonaSandboxProviderOptions;
}

const providers: DaytonaSandboxProvider[] = [];
function makeProvider(overrides: Partial<DaytonaSandboxProviderOptions> = {}): DaytonaSandboxProvider {
  const provider = new DaytonaSandboxProvider(providerOptions(overrides));
  providers.push(provider);
  return provider;
}
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

// The contract runs unchanged: every assumption in it holds for a remote sandbox too.
sandboxProviderContract('daytona (real SDK against the fake)', () => makeProvider(), { timeScale: 2 });

describe('DaytonaSandboxProvider', () => {
  it('runs commands with the image\'s own PATH, so the image\'s CLIs are found by name; a PATH the caller passes wins', async () => {
    const withCli = await makeProvider({ snapshot: 'agents-image' }).create({ jobId: 'job-path', attempt: 1, toolPaths: [] }, never);
    const without = await makeProvider().create({ jobId: 'job-nopath', attempt: 1, toolPaths: [] }, never);
    try {
      expect(await withCli.exec(['claude', '--version'])).toMatchObject({ exitCode: 0, stdout: 'image claude --version\n' });
      expect((await withCli.exec(['sh', '-c', 'echo "$PATH"'])).stdout.trim()).toBe(`${imageBin}:${systemPath}`);
      // Another image has no such command: the shell's "not found".
      expect((await without.exec(['claude', '--version'])).exitCode).toBe(127);
      expect((await withCli.exec(['sh', '-c', 'echo "$PATH"'], { env: { PATH: '/usr/bin:/bin' } })).stdout.trim()).toBe('/usr/bin:/bin');
    } finally {
      await Promise.all([withCli.destroy(), without.destroy()]);
    }
  });

  it('creates the sandbox with our labels, limits, lifecycle and egress settings', async () => {
    const provider = makeProvider({
      snapshot: undefined,
      image: 'node:20-bookworm',
      resources: { cpu: 2, memoryGiB: 4, diskGiB: 10 },
      networkAllowDomains: ['api.anthropic.com', 'generativelanguage.googleapis.com'],
      autoStopIntervalMin: 45,
      autoDeleteIntervalMin: 5,
    });
    const sandbox = await provider.create({ jobId: 'job-labels', attempt: 3, toolPaths: ['/ignored'] }, never);
    try {
      const created = fake.sandboxes().find((s) => s.id === sandbox.id);
      expect(created?.labels).toMatchObject({ app: 'tiny-backspace', jobId: 'job-labels', attempt: '3' });
      expect(created?.createRequest).toMatchObject({
        cpu: 2,
        memory: 4,
        disk: 10,
        autoStopInterval: 45,
        autoDeleteInterval: 5,
        domainAllowList: 'api.anthropic.com,generativelanguage.googleapis.com',
        target: 'local',
        buildInfo: { dockerfileContent: expect.stringContaining('FROM node:20-bookworm') },
      });
      // The allow list is default-deny already; block-all would also block the model API.
      expect(created?.createRequest?.['networkBlockAll']).toBeUndefined();
      expect(sandbox.workspaceDir).toBe(`${created?.homeDir}/tinyb/workspace`);
    } finally {
      await sandbox.destroy();
    }
  });

  it('uses the snapshot and sends no egress settings when none are configured', async () => {
    const sandbox = await makeProvider().create({ jobId: 'job-snapshot', attempt: 1, toolPaths: [] }, never);
    try {
      const request = fake.sandboxes().find((s) => s.id === sandbox.id)?.createRequest;
      expect(request).toMatchObject({ snapshot: 'tiny-backspace-agents' });
      expect(request?.['networkBlockAll']).toBeUndefined();
      expect(request?.['domainAllowList']).toBeUndefined();
    } finally {
      await sandbox.destroy();
    }
  });

  it('streams output through a session and keeps env values out of the recorded command', async () => {
    const sandbox = await makeProvider().create({ jobId: 'job-stream', attempt: 1, toolPaths: [] }, never);
    try {
      const secret = `sk-secret-${Math.random().toString(36).slice(2)}`;
      const chunks: OutputChunk[] = [];
      const result = await sandbox.exec(['sh', '-c', 'printf "%s" "$API_KEY" | wc -c; echo done >&2'], {
        env: { API_KEY: secret },
        onOutput: (c) => chunks.push(c),
      });
      expect(result).toMatchObject({ exitCode: 0, stdout: `${secret.length}\n`, stderr: 'done\n' });
      expect(chunks.map((c) => c.stream).sort()).toEqual(['stderr', 'stdout']);

      const mine = fake.requests.filter((r) => r.path.startsWith(`/toolbox/${sandbox.id}/`));
      expect(mine.some((r) => r.method === 'WS' && r.path.endsWith('/logs') && r.query['follow'] === 'true')).toBe(true);
      const exec = mine.find((r) => r.path.endsWith('/exec'));
      expect(exec?.body).toMatchObject({ runAsync: true, command: expect.stringContaining('setsid') });
      expect(JSON.stringify(mine)).not.toContain(secret);
      // The env file is gone once the command has read it.
      const left = await sandbox.exec(['sh', '-c', 'ls ../run | grep -c ^env- || true']);
      expect(left.stdout.trim()).toBe('0');
    } finally {
      await sandbox.destroy();
    }
  });

  it('never asks Daytona for a file outside the workspace', async () => {
    const sandbox = await makeProvider().create({ jobId: 'job-paths', attempt: 1, toolPaths: [] }, never);
    try {
      await sandbox.exec(['ln', '-s', '/etc/passwd', 'link']);
      await expect(sandbox.readFile(`${sandbox.workspaceDir}/link`)).rejects.toMatchObject({ code: 'sandbox_failed' });
      await expect(sandbox.readFile('/etc/passwd')).rejects.toMatchObject({ code: 'sandbox_failed' });
      const transfers = fake.requests.filter((r) => r.path === `/toolbox/${sandbox.id}/files/bulk-download`);
      expect(transfers).toEqual([]);
    } finally {
      await sandbox.destroy();
    }
  });

  it('really deletes the sandbox on destroy, and a second destroy is fine', async () => {
    const provider = makeProvider();
    const sandbox = await provider.create({ jobId: 'job-destroy', attempt: 1, toolPaths: [] }, never);
    await sandbox.destroy();
    expect(fake.sandboxes().some((s) => s.id === sandbox.id)).toBe(false);
    const daytona = new Daytona({ apiUrl: fake.apiUrl, apiKey, target: 'local', useDeprecatedPolling: true });
    await expect(daytona.get(sandbox.id)).rejects.toMatchObject({ statusCode: 404 });
    await expect(sandbox.destroy()).resolves.toBeUndefined();
    await expect(provider.deleteById(sandbox.id)).resolves.toBeUndefined();
  });

  it('maps a bad API key to sandbox_unavailable (not retryable)', async () => {
    const provider = makeProvider({ daytona: { apiUrl: fake.apiUrl, apiKey: 'wrong', target: 'local', useDeprecatedPolling: true } });
    await expect(provider.create({ jobId: 'job-auth', attempt: 1, toolPaths: [] }, never)).rejects.toMatchObject({
      code: 'sandbox_unavailable',
      retryable: false,
    });
    await expect(provider.check()).rejects.toMatchObject({ code: 'sandbox_unavailable' });
    await expect(makeProvider().check()).resolves.toBeUndefined();
  });

  it('maps server errors to retryable sandbox_failed, and lets nothing of the request leak into the message', async () => {
    const provider = makeProvider();
    fake.failNext({ method: 'POST', path: /^\/api\/sandbox$/, status: 503, message: 'runner pool exhausted' });
    const err: unknown = await provider.create({ jobId: 'job-5xx', attempt: 1, toolPaths: [] }, never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'sandbox_failed', retryable: true });
    expect((err as Error).message).toContain('runner pool exhausted');
    expect((err as Error).message).not.toContain(apiKey);

    const sandbox = await provider.create({ jobId: 'job-5xx', attempt: 2, toolPaths: [] }, never);
    try {
      fake.failNext({ path: /\/process\/session$/, status: 500 });
      await expect(sandbox.exec(['true'])).rejects.toMatchObject({ code: 'sandbox_failed', retryable: true });
      fake.failNext({ path: /\/files\/bulk-upload$/, status: 403, message: 'forbidden' });
      await expect(sandbox.writeFile(`${sandbox.workspaceDir}/x`, 'x')).rejects.toMatchObject({ code: 'sandbox_unavailable', retryable: false });
      expect((await sandbox.exec(['true'])).exitCode).toBe(0);
    } finally {
      await sandbox.destroy();
    }
  });

  it('deletes a sandbox whose creation finished after the caller gave up', async () => {
    const provider = makeProvider();
    const controller = new AbortController();
    const before = new Set(fake.sandboxes().map((s) => s.id));
    const creating = provider.create({ jobId: 'job-abort-create', attempt: 1, toolPaths: [] }, controller.signal);
    controller.abort();
    await expect(creating).rejects.toMatchObject({ code: 'cancelled' });
    const createdThenDeleted = (): boolean => {
      const created = fake.requests.some(
        (r) => r.method === 'POST' && r.path === '/api/sandbox' && JSON.stringify(r.body).includes('job-abort-create'),
      );
      return created && !fake.sandboxes().some((s) => !before.has(s.id) && s.labels['jobId'] === 'job-abort-create');
    };
    for (let i = 0; i < 50 && !createdThenDeleted(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(createdThenDeleted()).toBe(true);
    expect(fake.requests.some((r) => r.method === 'DELETE' && r.path.startsWith('/api/sandbox/'))).toBe(true);
  });

  it('lists only its own sandboxes across pages and refuses to delete foreign ones', async () => {
    const provider = makeProvider();
    const foreign = await fake.plant({ labels: { app: 'someone-else', jobId: 'x' } });
    const planted = await Promise.all(Array.from({ length: 3 }, (_, i) => fake.plant({ labels: { app: 'tiny-backspace', jobId: `leak-${i}`, attempt: '1' } })));
    const own = await provider.listOwn();
    expect(own.map((s) => s.id)).toEqual(expect.arrayContaining(planted.map((p) => p.id)));
    expect(own.map((s) => s.id)).not.toContain(foreign.id);
    expect(own.find((s) => s.id === planted[0]!.id)).toMatchObject({ jobId: 'leak-0', attempt: 1, createdAt: expect.any(Date) });
    await expect(provider.deleteById(foreign.id)).rejects.toMatchObject({ code: 'sandbox_failed' });
    expect(fake.sandboxes().some((s) => s.id === foreign.id)).toBe(true);
    await Promise.all(planted.map((p) => provider.deleteById(p.id)));
    expect(fake.sandboxes().filter((s) => planted.some((p) => p.id === s.id))).toEqual([]);
  });
});

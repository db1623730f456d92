import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalSandboxProvider } from './local-sandbox-provider.js';
import type { LocalSandbox } from './local-sandbox.js';

const rootDir = path.join(os.tmpdir(), `tinyb-sandbox-stream-test-${process.pid}`);
const never = new AbortController().signal;

async function* chunksOf(data: Buffer, size: number, onChunk: () => void = () => undefined): AsyncIterable<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += size) {
    onChunk();
    yield data.subarray(at, at + size);
  }
}

/** LocalSandbox.writeFileStream: a checkout archive written as it streams, with the same path guards as writeFile. */
describe('LocalSandbox.writeFileStream (bwrap)', () => {
  let sandbox: LocalSandbox;

  beforeEach(async () => {
    sandbox = await new LocalSandboxProvider({ isolation: 'bwrap', rootDir, killGraceMs: 500 }).create({ jobId: 'stream', attempt: 1, toolPaths: [] }, never);
  });
  afterEach(() => sandbox.destroy());
  afterAll(() => fs.rm(rootDir, { recursive: true, force: true }));

  it('writes every chunk in order, over a file that was longer, and commands in the sandbox see it whole', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 123);
    const target = `${sandbox.workspaceDir}/in/checkout.tar`;
    await sandbox.writeFile(target, randomBytes(8 * 1024 * 1024));
    await sandbox.writeFileStream(target, chunksOf(data, 64 * 1024), never);
    expect(Buffer.from(await sandbox.readFile(target)).equals(data)).toBe(true);
    const wc = await sandbox.exec(['wc', '-c', target]);
    expect(wc.stdout.trim()).toBe(`${data.byteLength} ${target}`);
  });

  it('stops at the next chunk once the job is cancelled', async () => {
    const cancel = new AbortController();
    let served = 0;
    const data = randomBytes(1024 * 1024);
    const writing = sandbox.writeFileStream(`${sandbox.workspaceDir}/c.tar`, chunksOf(data, 1024, () => {
      served += 1;
      if (served === 10) cancel.abort(new Error('job cancelled'));
    }), cancel.signal);
    await expect(writing).rejects.toThrow('job cancelled');
    expect(served).toBeLessThan(20);
  });

  it('refuses a path that leads out of the workspace, before reading any chunk', async () => {
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'tinyb-outside-'));
    try {
      await fs.symlink(outside, path.join(sandbox.hostDir, 'escape'));
      let read = 0;
      await expect(sandbox.writeFileStream(`${sandbox.workspaceDir}/escape/x.tar`, chunksOf(randomBytes(1024), 256, () => void (read += 1)), never)).rejects.toMatchObject({ code: 'sandbox_failed' });
      expect(read).toBe(0);
      expect(await fs.readdir(outside)).toEqual([]);
    } finally {
      await fs.rm(outside, { recursive: true, force: true });
    }
  });
});

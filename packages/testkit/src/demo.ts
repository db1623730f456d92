import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, waitForHttp } from './app-process.js';
import { FAKE_FILES, startFakeAnthropic } from './fake-anthropic.js';
import { startFakeGitHub } from './fake-github.js';

/**
 * `pnpm demo`: the real API and worker against a fake GitHub and a scripted fake model, all on localhost,
 * so Tiny Backspace can be tried with no accounts and no network. Ctrl-C stops everything.
 */
async function main() {
  const port = process.env['PORT'] ?? '8000';
  const token = 'demo-github-token-not-a-secret';
  const github = await startFakeGitHub({ token });
  const model = await startFakeAnthropic();
  await github.createRepo('demo', 'hello', {
    files: {
      'README.md': `# hello\n\n${FAKE_FILES.readmeOldLine}\n`,
      [FAKE_FILES.obsoletePath]: 'to be removed\n',
    },
  });
  const sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-demo-'));
  const shared = {
    REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: 'tinyb-demo',
    GITHUB_URL: github.url,
    NODE_ENV: 'development',
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
  };
  const api = startApp('api', { ...shared, PORT: port, HOST: '127.0.0.1' });
  const worker = startApp('worker', {
    ...shared,
    GITHUB_TOKEN: token,
    GITHUB_API_URL: github.apiUrl,
    GITHUB_THROTTLE: 'false',
    ANTHROPIC_API_KEY: model.apiKey,
    ANTHROPIC_BASE_URL: model.url,
    SANDBOX_ROOT: sandboxRoot,
  });
  for (const app of [api, worker]) app.child.stdout?.pipe(process.stderr);
  for (const app of [api, worker]) app.child.stderr?.pipe(process.stderr);

  const stop = async () => {
    await Promise.all([api.stop(), worker.stop()]);
    await Promise.all([github.close(), model.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  await Promise.all([waitForHttp(`http://127.0.0.1:${port}/ready`), worker.waitForOutput('worker started', 60_000)]);
  const repo = `${github.url}/demo/hello`;
  process.stdout.write(`
Tiny Backspace demo is running on http://127.0.0.1:${port} (fake GitHub ${github.url}, fake model ${model.url}).

Submit a job and follow it (the fake model obeys [scenario:write|edit|multi|noop|slow] in the prompt):
  curl -s http://127.0.0.1:${port}/api/jobs -H 'content-type: application/json' \\
    -d '{"repo_url":"${repo}","prompt":"[scenario:multi] Tidy up the docs"}'
  curl -N http://127.0.0.1:${port}/api/jobs/<id>/events
or the original API in one call:
  curl -N http://127.0.0.1:${port}/code -H 'content-type: application/json' -d '{"repoUrl":"${repo}","prompt":"Add a hello file"}'
or the CLI:
  pnpm tinyb submit --url http://127.0.0.1:${port} --repo ${repo} --prompt '[scenario:edit] Mark the README as edited'
Bull Board: http://127.0.0.1:${port}/admin/queues      Pull requests: git clone ${github.repoDir('demo', 'hello')}
Ctrl-C stops everything.
`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

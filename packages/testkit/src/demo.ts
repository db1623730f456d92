import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startApp, waitForHttp, workspaceRoot } from './app-process.js';
import { FAKE_FILES, startFakeAnthropic } from './fake-anthropic.js';
import { startFakeDaytona, type FakeDaytona } from './fake-daytona.js';
import { startFakeGemini } from './fake-gemini.js';
import { startFakeGitHub } from './fake-github.js';
import { startFakeOpenAi } from './fake-openai.js';

/**
 * `pnpm demo`: the real API and worker against a fake GitHub and scripted fake models (Claude, Gemini and an
 * OpenAI-compatible one), all on localhost, so Tiny Backspace can be tried with no accounts and no network.
 * `DEMO_SANDBOX=daytona pnpm demo` runs the sandboxes through the Daytona SDK against a fake Daytona.
 * Ctrl-C stops everything.
 */
async function main() {
  const port = process.env['PORT'] ?? '8000';
  const token = 'demo-github-token-not-a-secret';
  const github = await startFakeGitHub({ token });
  const model = await startFakeAnthropic();
  const gemini = await startFakeGemini();
  const openai = await startFakeOpenAi();
  // The fake Daytona runs its sandboxes on this machine; its image's PATH holds this checkout's agent CLIs.
  const imagePath = `${join(workspaceRoot(), 'packages', 'agents', 'node_modules', '.bin')}:/usr/local/bin:/usr/bin:/bin`;
  const daytona: FakeDaytona | undefined =
    process.env['DEMO_SANDBOX'] === 'daytona' ? await startFakeDaytona({ apiKey: 'demo-daytona-key', imagePaths: { demo: imagePath } }) : undefined;
  const gatewayPort = daytona ? await freePort() : undefined;
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
    GEMINI_API_KEY: gemini.apiKey,
    GOOGLE_GEMINI_BASE_URL: gemini.url,
    OPENAI_API_KEY: openai.apiKey,
    OPENAI_BASE_URL: openai.url,
    OPENAI_MODEL: 'fake-gpt',
    SANDBOX_ROOT: sandboxRoot,
    ...(daytona
      ? {
          SANDBOX_PROVIDER: 'daytona',
          DAYTONA_API_KEY: daytona.apiKey,
          DAYTONA_API_URL: daytona.apiUrl,
          DAYTONA_SNAPSHOT: 'demo',
          DAYTONA_USE_DEPRECATED_POLLING: 'true',
          // Remote sandboxes reach the model gateway by URL (here on loopback; in production behind TLS).
          MODEL_GATEWAY_PUBLIC_URL: `http://127.0.0.1:${gatewayPort}`,
          MODEL_GATEWAY_HOST: '127.0.0.1',
          MODEL_GATEWAY_PORT: String(gatewayPort),
        }
      : {}),
  });
  for (const app of [api, worker]) app.child.stdout?.pipe(process.stderr);
  for (const app of [api, worker]) app.child.stderr?.pipe(process.stderr);

  const stop = async () => {
    await Promise.all([api.stop(), worker.stop()]);
    await Promise.all([github.close(), model.close(), gemini.close(), openai.close(), daytona?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  await Promise.all([waitForHttp(`http://127.0.0.1:${port}/ready`), worker.waitForOutput('worker started', 60_000)]);
  const repo = `${github.url}/demo/hello`;
  process.stdout.write(`
Tiny Backspace demo is running on http://127.0.0.1:${port} (fake GitHub ${github.url}, fake models for
claude-code, gemini and openai, ${daytona ? `Daytona sandboxes via a fake Daytona at ${daytona.apiUrl}` : 'local bubblewrap sandboxes'}).

Submit a job and follow it (the fake models obey [scenario:write|edit|multi|noop|slow] in the prompt;
add "agent":"gemini" or "agent":"openai" to pick another agent):
  curl -s http://127.0.0.1:${port}/api/jobs -H 'content-type: application/json' \\
    -d '{"repo_url":"${repo}","prompt":"[scenario:multi] Tidy up the docs"}'
  curl -N http://127.0.0.1:${port}/api/jobs/<id>/events
or the original API in one call:
  curl -N http://127.0.0.1:${port}/code -H 'content-type: application/json' -d '{"repoUrl":"${repo}","prompt":"Add a hello file"}'
or the CLI:
  pnpm tinyb submit --url http://127.0.0.1:${port} --repo ${repo} --prompt '[scenario:edit] Mark the README as edited'
Web console: http://127.0.0.1:${port}/ui/      API reference: http://127.0.0.1:${port}/docs
Bull Board: http://127.0.0.1:${port}/admin/queues      Pull requests: git clone ${github.repoDir('demo', 'hello')}
Ctrl-C stops everything.
`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

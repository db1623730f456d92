import type { NewJobEvent } from '@tinyb/contracts';
import { collectingContext, recordingMeter, scriptedSandbox } from '@tinyb/testkit/agent-harness';
import { CodexAgent } from './codex-agent.js';
import { resolveCodexExecutable } from './resolve-codex-executable.js';

const executable = resolveCodexExecutable();
const base = { workdir: '/w/repo', scratchDir: '/w/scratch', prompt: '-', timeoutMs: 5_000, maxTurns: 7 };
const success =
  '{"type":"thread.started","thread_id":"t"}\n{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"Done."}}\n' +
  '{"type":"turn.completed","usage":{"input_tokens":5,"cached_input_tokens":0,"output_tokens":6}}\n';

describe('CodexAgent', () => {
  it('runs the binary with a config of its own and an environment built only from the run’s endpoint', async () => {
    process.env.WORKER_SECRET = 'must-not-leak';
    const agent = new CodexAgent({ executable, apiKey: 'unused', defaultModel: 'gpt-x', maxApiRetries: 1, extraEnv: { HTTPS_PROXY: 'http://p' } });
    const { sandbox, calls, writes } = scriptedSandbox(success);
    const usage = recordingMeter();
    const events: NewJobEvent[] = [];
    const modelEndpoint = { baseUrl: 'http://127.0.0.1:8790/openai/v1/', apiKey: 'tbgw_token' };
    const out = await agent.run({ sandbox, ...base, usage, modelEndpoint }, collectingContext(events));
    delete process.env.WORKER_SECRET;

    expect(out).toEqual({ summary: 'Done.' });
    expect(usage.reports).toEqual([{ inputTokens: 5, outputTokens: 6 }]);
    expect(events).toEqual([{ type: 'agent.message', text: 'Done.' }]);
    expect(calls[0]?.argv).toEqual(['mkdir', '-p', '/w/scratch/codex-home', '/w/scratch/home', '/w/scratch/tmp']);
    const run = calls[1]!;
    // A lone `-` would make the CLI read its prompt from stdin.
    expect(run.argv).toEqual([executable, 'exec', '--json', '--ephemeral', '--skip-git-repo-check', '--', ' -']);
    expect(run.opts).toMatchObject({ cwd: '/w/repo', timeoutMs: 5_000 });
    expect(run.opts?.env).toEqual({ TINYB_MODEL_API_KEY: 'tbgw_token', CODEX_HOME: '/w/scratch/codex-home', HOME: '/w/scratch/home', TMPDIR: '/w/scratch/tmp', HTTPS_PROXY: 'http://p' });
    const config = writes.get('/w/scratch/codex-home/config.toml') ?? '';
    for (const line of [
      'model = "gpt-x"',
      'model_provider = "tinyb"',
      'approval_policy = "never"',
      'sandbox_mode = "danger-full-access"',
      'features.plugins = false',
      'analytics.enabled = false',
      'shell_environment_policy.inherit = "core"',
      '[model_providers.tinyb]',
      'base_url = "http://127.0.0.1:8790/openai/v1"',
      'env_key = "TINYB_MODEL_API_KEY"',
      'wire_api = "responses"',
      'request_max_retries = 1',
    ]) {
      expect(config.split('\n')).toContain(line);
    }
    expect(config).not.toContain('tbgw_token');
    expect(agent.toolPaths).toEqual([executable.slice(0, executable.lastIndexOf('/'))]);
  });

  it('a command name is run as it is, from the image’s PATH, with nothing to bind; the job’s model wins', async () => {
    const agent = new CodexAgent({ executable: 'codex', apiKey: 'k', defaultModel: 'gpt-x' });
    expect(agent.toolPaths).toEqual([]);
    const { sandbox, calls, writes } = scriptedSandbox(success);
    await agent.run({ sandbox, ...base, prompt: 'go', model: 'gpt-job', usage: recordingMeter() }, collectingContext());
    expect(calls[1]?.argv).toEqual(['codex', 'exec', '--json', '--ephemeral', '--skip-git-repo-check', '--', 'go']);
    expect(writes.get('/w/scratch/codex-home/config.toml')).toContain('model = "gpt-job"');
    // Without an endpoint from the run: the agent's own key, against OpenAI's public API.
    expect(writes.get('/w/scratch/codex-home/config.toml')).toContain('base_url = "https://api.openai.com/v1"');
    expect(calls[1]?.opts?.env?.TINYB_MODEL_API_KEY).toBe('k');
  });
});

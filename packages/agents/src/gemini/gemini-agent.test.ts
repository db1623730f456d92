import { AppError } from '@tinyb/core';
import type { NewJobEvent } from '@tinyb/contracts';
import { collectingContext, recordingMeter, scriptedSandbox } from '@tinyb/testkit/agent-harness';
import { rejectionOf } from '@tinyb/testkit/caught';
import { GeminiAgent, GEMINI_PUBLIC_BASE_URL } from './gemini-agent.js';
import { resolveGeminiCli } from './resolve-gemini-cli.js';

const ctx = collectingContext;

const executable = resolveGeminiCli();
const base = { workdir: '/w/repo', scratchDir: '/w/scratch', prompt: 'do it; rm -rf / "quoted"', timeoutMs: 5_000, maxTurns: 7 };
const success =
  '{"type":"message","role":"assistant","content":"Do","delta":true}\n{"type":"message","role":"assistant","content":"ne.","delta":true}\n' +
  '{"type":"result","status":"success","stats":{"total_tokens":11,"input_tokens":5,"output_tokens":6}}\n';

const failure = (p: Promise<unknown>) => rejectionOf(p, AppError);

describe('GeminiAgent', () => {
  it('runs node on the CLI with an environment built only from its options, after writing its settings', async () => {
    process.env.WORKER_SECRET = 'must-not-leak';
    const agent = new GeminiAgent({ executable, apiKey: 'g-key', baseUrl: 'http://model', defaultModel: 'gemini-x', maxApiAttempts: 2, extraEnv: { HTTPS_PROXY: 'http://p' } });
    const { sandbox, calls, writes } = scriptedSandbox(success);
    const usage = recordingMeter();
    const events: NewJobEvent[] = [];
    const out = await agent.run({ sandbox, ...base, usage }, ctx(events));
    delete process.env.WORKER_SECRET;

    expect(out).toEqual({ summary: 'Done.' });
    expect(usage.reports).toEqual([{ inputTokens: 5, outputTokens: 6 }]);
    expect(events).toEqual([{ type: 'agent.message', text: 'Done.' }]);

    const settings = JSON.parse(writes.get('/w/scratch/home/.gemini/settings.json') ?? 'null');
    expect(settings).toMatchObject({
      security: { auth: { selectedType: 'gemini-api-key' } },
      privacy: { usageStatisticsEnabled: false },
      general: { enableAutoUpdate: false, maxAttempts: 2 },
      model: { maxSessionTurns: 7 },
      advanced: { ignoreLocalEnv: true },
    });
    expect(calls[0]?.argv).toEqual(['mkdir', '-p', '/w/scratch/tmp']);
    const run = calls[1]!;
    expect(run.argv).toEqual([
      expect.stringMatching(/\/node$/), executable, `--prompt=${base.prompt}`, '--output-format', 'stream-json', '--yolo', '--skip-trust', '--model', 'gemini-x',
    ]);
    expect(run.opts).toMatchObject({ cwd: '/w/repo', timeoutMs: 5_000 });
    expect(run.opts?.env).toEqual({
      GEMINI_API_KEY: 'g-key',
      GOOGLE_GEMINI_BASE_URL: 'http://model',
      HOME: '/w/scratch/home',
      TMPDIR: '/w/scratch/tmp',
      GEMINI_CLI_SYSTEM_SETTINGS_PATH: '/w/scratch/home/.gemini/settings.json',
      GEMINI_CLI_NO_RELAUNCH: 'true',
      HTTPS_PROXY: 'http://p',
    });
    expect(agent.toolPaths).toHaveLength(1);
    expect(executable.startsWith(`${agent.toolPaths[0]!}/`)).toBe(true);
  });

  it('a job’s model wins over the default; without either it is gemini-2.5-pro, never the router', async () => {
    const { sandbox, calls } = scriptedSandbox(success);
    const usage = recordingMeter();
    await new GeminiAgent({ executable, apiKey: 'k', defaultModel: 'd' }).run({ sandbox, ...base, model: 'm', usage }, ctx());
    expect(calls[1]?.argv.slice(-2)).toEqual(['--model', 'm']);
    await new GeminiAgent({ executable, apiKey: 'k' }).run({ sandbox, ...base, usage }, ctx());
    expect(calls[3]?.argv.slice(-2)).toEqual(['--model', 'gemini-2.5-pro']);
    // No base URL configured: the public endpoint is pinned, so a repository's .env cannot redirect the key.
    expect(calls[3]?.opts?.env?.GOOGLE_GEMINI_BASE_URL).toBe(GEMINI_PUBLIC_BASE_URL);
  });

  it('a prompt that starts with a slash stays a prompt, not a slash command', async () => {
    const { sandbox, calls } = scriptedSandbox(success);
    await new GeminiAgent({ executable, apiKey: 'k' }).run({ sandbox, ...base, prompt: '/clear the cache', usage: recordingMeter() }, ctx());
    expect(calls[1]?.argv[2]).toBe('--prompt= /clear the cache');
  });

  it('no result line: agent_failed with the end of stderr, nothing reported', async () => {
    const { sandbox } = scriptedSandbox('', { exitCode: 1, stderr: 'a\nb\nError: Cannot find module\n' });
    const usage = recordingMeter();
    const err = await failure(new GeminiAgent({ executable, apiKey: 'k' }).run({ sandbox, ...base, usage }, ctx()));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false });
    expect(err.message).toContain('Cannot find module');
    expect(usage.reports).toEqual([]);
  });

  it('server error (exit 244): retryable agent_failed with the API error', async () => {
    const { sandbox } = scriptedSandbox(
      '{"type":"result","status":"error","error":{"type":"unknown","message":"[API Error: {\\"error\\":{\\"code\\":500}}]"},"stats":{"input_tokens":0,"output_tokens":0}}\n',
      { exitCode: 244 },
    );
    const err = await failure(new GeminiAgent({ executable, apiKey: 'k' }).run({ sandbox, ...base, usage: recordingMeter() }, ctx()));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('HTTP 500') });
  });

  it('turn limit (exit 53): agent_max_turns, and the tokens spent are still reported', async () => {
    const { sandbox } = scriptedSandbox(
      '{"type":"result","status":"error","error":{"type":"FatalTurnLimitedError","message":"Reached max session turns"},"stats":{"total_tokens":240,"input_tokens":200,"output_tokens":40}}\n',
      { exitCode: 53 },
    );
    const usage = recordingMeter();
    const err = await failure(new GeminiAgent({ executable, apiKey: 'k' }).run({ sandbox, ...base, usage }, ctx()));
    expect(err).toMatchObject({ code: 'agent_max_turns', retryable: false });
    expect(usage.reports).toEqual([{ inputTokens: 200, outputTokens: 40 }]);
  });

  it('timed out: agent_timeout, and text cut off mid-turn is still emitted', async () => {
    const events: NewJobEvent[] = [];
    const { sandbox } = scriptedSandbox('{"type":"message","role":"assistant","content":"Still wor","delta":true}\n', { exitCode: 143, timedOut: true });
    const err = await failure(new GeminiAgent({ executable, apiKey: 'k' }).run({ sandbox, ...base, usage: recordingMeter() }, ctx(events)));
    expect(err.code).toBe('agent_timeout');
    expect(events).toEqual([{ type: 'agent.message', text: 'Still wor' }]);
  });
});

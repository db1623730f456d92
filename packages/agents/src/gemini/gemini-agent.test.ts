import { AppError, silentLogger, type ExecOptions, type ExecResult, type Sandbox, type StepContext, type UsageMeter } from '@tinyb/core';
import type { NewJobEvent, Usage } from '@tinyb/contracts';
import { GeminiAgent, GEMINI_PUBLIC_BASE_URL } from './gemini-agent.js';
import { resolveGeminiCli } from './resolve-gemini-cli.js';

/** A sandbox whose agent command prints `stdout` and ends with `result`; every call and write is recorded. */
function scriptedSandbox(stdout: string, result: Partial<ExecResult> = {}) {
  const calls: { argv: string[]; opts: ExecOptions | undefined }[] = [];
  const writes = new Map<string, string>();
  const sandbox: Sandbox = {
    id: 'scripted',
    workspaceDir: '/w',
    async exec(argv, opts) {
      calls.push({ argv, opts });
      if (argv[0] === 'mkdir') return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
      opts?.onOutput?.({ stream: 'stdout', data: stdout });
      return { exitCode: 0, stdout, stderr: '', timedOut: false, ...result };
    },
    readFile: () => Promise.reject(new Error('unused')),
    writeFile: async (path, data) => void writes.set(path, typeof data === 'string' ? data : Buffer.from(data).toString('utf8')),
    destroy: () => Promise.resolve(),
  };
  return { sandbox, calls, writes };
}

function recordingMeter() {
  const reports: Usage[] = [];
  const usage: UsageMeter = { report: async (u) => void reports.push(u), remaining: () => ({}) };
  return { usage, reports };
}

const ctx = (events: NewJobEvent[] = []): StepContext => ({
  jobId: 'j',
  logger: silentLogger,
  signal: new AbortController().signal,
  emit: async (e) => void events.push(e),
});

const executable = resolveGeminiCli();
const base = { workdir: '/w/repo', scratchDir: '/w/scratch', prompt: 'do it; rm -rf / "quoted"', timeoutMs: 5_000, maxTurns: 7 };
const success =
  '{"type":"message","role":"assistant","content":"Do","delta":true}\n{"type":"message","role":"assistant","content":"ne.","delta":true}\n' +
  '{"type":"result","status":"success","stats":{"total_tokens":11,"input_tokens":5,"output_tokens":6}}\n';

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('GeminiAgent', () => {
  it('runs node on the CLI with an environment built only from its options, after writing its settings', async () => {
    process.env.WORKER_SECRET = 'must-not-leak';
    const agent = new GeminiAgent({ executable, apiKey: 'g-key', baseUrl: 'http://model', defaultModel: 'gemini-x', maxApiAttempts: 2, extraEnv: { HTTPS_PROXY: 'http://p' } });
    const { sandbox, calls, writes } = scriptedSandbox(success);
    const { usage, reports } = recordingMeter();
    const events: NewJobEvent[] = [];
    const out = await agent.run({ sandbox, ...base, usage }, ctx(events));
    delete process.env.WORKER_SECRET;

    expect(out).toEqual({ summary: 'Done.' });
    expect(reports).toEqual([{ inputTokens: 5, outputTokens: 6 }]);
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
    const { usage } = recordingMeter();
    await new GeminiAgent({ executable, apiKey: 'k', defaultModel: 'd' }).run({ sandbox, ...base, model: 'm', usage }, ctx());
    expect(calls[1]?.argv.slice(-2)).toEqual(['--model', 'm']);
    await new GeminiAgent({ executable, apiKey: 'k' }).run({ sandbox, ...base, usage }, ctx());
    expect(calls[3]?.argv.slice(-2)).toEqual(['--model', 'gemini-2.5-pro']);
    // No base URL configured: the public endpoint is pinned, so a repository's .env cannot redirect the key.
    expect(calls[3]?.opts?.env?.GOOGLE_GEMINI_BASE_URL).toBe(GEMINI_PUBLIC_BASE_URL);
  });

  it('a prompt that starts with a slash stays a prompt, not a slash command', async () => {
    const { sandbox, calls } = scriptedSandbox(success);
    await new GeminiAgent({ executable, apiKey: 'k' }).run({ sandbox, ...base, prompt: '/clear the cache', usage: recordingMeter().usage }, ctx());
    expect(calls[1]?.argv[2]).toBe('--prompt= /clear the cache');
  });

  it('no result line: agent_failed with the end of stderr, nothing reported', async () => {
    const { sandbox } = scriptedSandbox('', { exitCode: 1, stderr: 'a\nb\nError: Cannot find module\n' });
    const { usage, reports } = recordingMeter();
    const err = await failure(new GeminiAgent({ executable, apiKey: 'k' }).run({ sandbox, ...base, usage }, ctx()));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false });
    expect(err.message).toContain('Cannot find module');
    expect(reports).toEqual([]);
  });

  it('server error (exit 244): retryable agent_failed with the API error', async () => {
    const { sandbox } = scriptedSandbox(
      '{"type":"result","status":"error","error":{"type":"unknown","message":"[API Error: {\\"error\\":{\\"code\\":500}}]"},"stats":{"input_tokens":0,"output_tokens":0}}\n',
      { exitCode: 244 },
    );
    const err = await failure(new GeminiAgent({ executable, apiKey: 'k' }).run({ sandbox, ...base, usage: recordingMeter().usage }, ctx()));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('HTTP 500') });
  });

  it('turn limit (exit 53): agent_max_turns, and the tokens spent are still reported', async () => {
    const { sandbox } = scriptedSandbox(
      '{"type":"result","status":"error","error":{"type":"FatalTurnLimitedError","message":"Reached max session turns"},"stats":{"total_tokens":240,"input_tokens":200,"output_tokens":40}}\n',
      { exitCode: 53 },
    );
    const { usage, reports } = recordingMeter();
    const err = await failure(new GeminiAgent({ executable, apiKey: 'k' }).run({ sandbox, ...base, usage }, ctx()));
    expect(err).toMatchObject({ code: 'agent_max_turns', retryable: false });
    expect(reports).toEqual([{ inputTokens: 200, outputTokens: 40 }]);
  });

  it('timed out: agent_timeout, and text cut off mid-turn is still emitted', async () => {
    const events: NewJobEvent[] = [];
    const { sandbox } = scriptedSandbox('{"type":"message","role":"assistant","content":"Still wor","delta":true}\n', { exitCode: 143, timedOut: true });
    const err = await failure(new GeminiAgent({ executable, apiKey: 'k' }).run({ sandbox, ...base, usage: recordingMeter().usage }, ctx(events)));
    expect(err.code).toBe('agent_timeout');
    expect(events).toEqual([{ type: 'agent.message', text: 'Still wor' }]);
  });
});

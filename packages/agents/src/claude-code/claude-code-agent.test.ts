import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError, JobUsageMeter, type Budget } from '@tinyb/core';
import type { NewJobEvent } from '@tinyb/contracts';
import { collectingContext, scriptedSandbox } from '@tinyb/testkit/agent-harness';
import { rejectionOf } from '@tinyb/testkit/caught';
import { resolveClaudeExecutable } from './resolve-claude-executable.js';
import { ClaudeCodeAgent } from './claude-code-agent.js';

const ctx = collectingContext;

/** The real meter, reporting its agent.usage events into `events`. */
const meter = (events: NewJobEvent[] = [], budget: Budget = {}) =>
  new JobUsageMeter({ budget, emit: async (e) => void events.push(e), onExceeded: () => undefined });

const executable = resolveClaudeExecutable();
const input = { workdir: '/w/repo', scratchDir: '/w/scratch', prompt: 'do it; rm -rf / "quoted"', timeoutMs: 5_000, maxTurns: 7 };
const success = '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"ok","total_cost_usd":0.01,"usage":{"input_tokens":5,"output_tokens":6}}\n';

const failure = (p: Promise<unknown>) => rejectionOf(p, AppError);

describe('ClaudeCodeAgent', () => {
  it('runs the CLI as an argument vector with an environment built only from its options', async () => {
    process.env.WORKER_SECRET = 'must-not-leak';
    const agent = new ClaudeCodeAgent({ executable, apiKey: 'sk-test', baseUrl: 'http://model', defaultModel: 'claude-x', extraEnv: { HTTPS_PROXY: 'http://p' } });
    const { sandbox, calls, writes } = scriptedSandbox(success);
    const usage = meter();
    const out = await agent.run({ sandbox, ...input, usage }, ctx());
    delete process.env.WORKER_SECRET;
    // The CLI needs no settings file: everything it is told goes through argv and env.
    expect(writes.size).toBe(0);

    expect(out).toEqual({ summary: 'ok' });
    expect(usage.total()).toEqual({ inputTokens: 5, outputTokens: 6, costUsd: 0.01 });
    expect(calls[0]?.argv).toEqual(['mkdir', '-p', '/w/scratch/home', '/w/scratch/tmp']);
    const run = calls[1]!;
    expect(run.argv).toEqual([
      executable, '-p', '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions',
      '--max-turns', '7', '--model', 'claude-x', '--', input.prompt,
    ]);
    expect(run.opts).toMatchObject({ cwd: '/w/repo', timeoutMs: 5_000 });
    expect(run.opts?.env).toEqual({
      ANTHROPIC_API_KEY: 'sk-test',
      ANTHROPIC_BASE_URL: 'http://model',
      HOME: '/w/scratch/home',
      CLAUDE_CODE_TMPDIR: '/w/scratch/tmp',
      TMPDIR: '/w/scratch/tmp',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      IS_SANDBOX: '1',
      CLAUDE_CODE_MAX_RETRIES: '2',
      HTTPS_PROXY: 'http://p',
    });
    expect(agent.toolPaths).toHaveLength(1);
    expect(executable.startsWith(agent.toolPaths[0]!)).toBe(true);
  });

  it('a job’s model wins over the default; no model means no flag', async () => {
    const { sandbox, calls } = scriptedSandbox(success);
    await new ClaudeCodeAgent({ executable, apiKey: 'k', defaultModel: 'd' }).run({ sandbox, ...input, usage: meter(), model: 'm' }, ctx());
    expect(calls[1]?.argv.slice(-4)).toEqual(['--model', 'm', '--', input.prompt]);
    await new ClaudeCodeAgent({ executable, apiKey: 'k' }).run({ sandbox, ...input, usage: meter() }, ctx());
    expect(calls[3]?.argv).not.toContain('--model');
    expect(calls[3]?.opts?.env).not.toHaveProperty('ANTHROPIC_BASE_URL');
  });

  it('no result line: agent_failed with the end of stderr', async () => {
    const { sandbox } = scriptedSandbox('', { exitCode: 1, stderr: 'a\nb\nError: claude native binary not installed.\n' });
    const err = await failure(new ClaudeCodeAgent({ executable, apiKey: 'k' }).run({ sandbox, ...input, usage: meter() }, ctx()));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false });
    expect(err.message).toContain('native binary not installed');
  });

  it('a clean result with a non-zero exit code is still a failure', async () => {
    const { sandbox } = scriptedSandbox(success, { exitCode: 1 });
    const err = await failure(new ClaudeCodeAgent({ executable, apiKey: 'k' }).run({ sandbox, ...input, usage: meter() }, ctx()));
    expect(err.code).toBe('agent_failed');
  });

  it('overloaded API: retryable agent_failed', async () => {
    const { sandbox } = scriptedSandbox(
      '{"type":"result","subtype":"success","is_error":true,"api_error_status":529,"result":"API Error: 529 overloaded"}\n',
      { exitCode: 1 },
    );
    const err = await failure(new ClaudeCodeAgent({ executable, apiKey: 'k' }).run({ sandbox, ...input, usage: meter() }, ctx()));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('529 overloaded') });
  });

  it('a reply cut mid-stream (no status, malformed response): retryable agent_failed; another API error without a status is not', async () => {
    const cut = scriptedSandbox(
      '{"type":"result","subtype":"success","is_error":true,"api_error_status":null,"result":"API Error: API returned an empty or malformed response (HTTP 200) — check for a proxy or gateway intercepting the request"}\n',
      { exitCode: 1 },
    );
    const err = await failure(new ClaudeCodeAgent({ executable, apiKey: 'k' }).run({ sandbox: cut.sandbox, ...input, usage: meter() }, ctx()));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('malformed response') });
    const other = scriptedSandbox('{"type":"result","subtype":"success","is_error":true,"api_error_status":null,"result":"API Error: invalid model"}\n', { exitCode: 1 });
    const otherErr = await failure(new ClaudeCodeAgent({ executable, apiKey: 'k' }).run({ sandbox: other.sandbox, ...input, usage: meter() }, ctx()));
    expect(otherErr).toMatchObject({ code: 'agent_failed', retryable: false });
  });

  it('timed out: agent_timeout even when a partial result exists', async () => {
    const { sandbox } = scriptedSandbox('{"type":"system","subtype":"init"}\n', { exitCode: 143, timedOut: true });
    const err = await failure(new ClaudeCodeAgent({ executable, apiKey: 'k' }).run({ sandbox, ...input, usage: meter() }, ctx()));
    expect(err.code).toBe('agent_timeout');
  });

  it('max turns: agent_max_turns, and usage is still reported', async () => {
    const events: NewJobEvent[] = [];
    const { sandbox } = scriptedSandbox(
      '{"type":"result","subtype":"error_max_turns","is_error":true,"usage":{"input_tokens":1,"output_tokens":2}}\n',
      { exitCode: 1 },
    );
    const err = await failure(new ClaudeCodeAgent({ executable, apiKey: 'k' }).run({ sandbox, ...input, usage: meter(events) }, ctx()));
    expect(err.code).toBe('agent_max_turns');
    expect(events).toEqual([{ type: 'agent.usage', inputTokens: 1, outputTokens: 2 }]);
  });

  it('passes what is left of a cost budget to the CLI, and maps its budget stop to budget_exceeded', async () => {
    const { sandbox, calls } = scriptedSandbox('{"type":"result","subtype":"error_max_budget_usd","is_error":true}\n', { exitCode: 1 });
    const usage = new JobUsageMeter({
      previous: { inputTokens: 10, outputTokens: 10, costUsd: 0.25 },
      budget: { maxCostUsd: 1 },
      emit: async () => undefined,
      onExceeded: () => undefined,
    });
    const err = await failure(new ClaudeCodeAgent({ executable, apiKey: 'k' }).run({ sandbox, ...input, usage }, ctx()));
    expect(err.code).toBe('budget_exceeded');
    expect(calls[1]!.argv.slice(-4, -2)).toEqual(['--max-budget-usd', '0.75']);
  });
});

describe('ClaudeCodeAgent executable', () => {
  it('binds a host binary into local sandboxes, and runs a bare command name as the image provides it', () => {
    const host = new ClaudeCodeAgent({ executable, apiKey: 'k' });
    expect(host.toolPaths).toEqual([dirname(realpathSync(executable))]);
    const image = new ClaudeCodeAgent({ executable: 'claude', apiKey: 'k' });
    expect(image.toolPaths).toEqual([]);
  });
});

import { WorkerMetrics } from './worker-metrics.js';

describe('WorkerMetrics', () => {
  it('turns an attempt\'s events into step, sandbox, outcome and spending metrics', async () => {
    const metrics = new WorkerMetrics();
    const attempt = metrics.attempt({ agent: 'claude-code', sandboxProvider: 'local' }, 1500);
    attempt.event({ type: 'step.completed', step: 'create_sandbox', durationMs: 250 });
    attempt.event({ type: 'step.failed', step: 'destroy_sandbox', durationMs: 40, error: { code: 'sandbox_failed', message: 'x' } });
    attempt.event({ type: 'agent.message', text: 'hi' });
    attempt.event({
      type: 'job.succeeded',
      result: { outcome: 'pr_opened', filesChanged: [], summary: 's', usage: { inputTokens: 100, outputTokens: 20, costUsd: 0.5 } },
    });
    const call = metrics.modelCallObserver.grantOpened({ jobId: 'j', attempt: 1 }).callStarted({ provider: 'anthropic', method: 'POST', path: '/v1/messages' });
    call({ status: 200, outcome: 'completed', durationMs: 30 });
    const during = await metrics.registry.metrics();
    expect(during).toMatch(/^tinyb_jobs_running\{agent="claude-code"\} 1$/m);
    attempt.ended();
    attempt.ended();

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^tinyb_jobs_running\{agent="claude-code"\} 0$/m);
    expect(text).toMatch(/^tinyb_job_attempts_started_total\{agent="claude-code"\} 1$/m);
    expect(text).toMatch(/^tinyb_job_attempts_finished_total\{agent="claude-code",state="succeeded",outcome="pr_opened"\} 1$/m);
    expect(text).toMatch(/^tinyb_step_duration_seconds_count\{step="create_sandbox",result="ok"\} 1$/m);
    expect(text).toMatch(/^tinyb_step_duration_seconds_sum\{step="create_sandbox",result="ok"\} 0\.25$/m);
    expect(text).toMatch(/^tinyb_sandbox_operation_seconds_count\{provider="local",operation="create"\} 1$/m);
    expect(text).toMatch(/^tinyb_sandbox_failures_total\{provider="local",operation="destroy"\} 1$/m);
    expect(text).toMatch(/^tinyb_queue_wait_seconds_sum\{agent="claude-code"\} 1\.5$/m);
    expect(text).toMatch(/^tinyb_agent_tokens_total\{agent="claude-code",kind="input"\} 100$/m);
    expect(text).toMatch(/^tinyb_agent_cost_usd_total\{agent="claude-code"\} 0\.5$/m);
    expect(text).toMatch(/^tinyb_model_calls_total\{provider="anthropic",status="200"\} 1$/m);
  });
});

import type { CheckPlan, CheckRun, CheckRunner, PlannedCheck, Sandbox } from '@tinyb/core';
import { CHECKS_FILE_NAMES, parseChecksFile } from './checks-file.js';
import { DETECTION_FILES, detectChecks, type RepoLayout } from './detect-checks.js';
import { OutputTail } from './output-tail.js';

export interface SandboxCheckRunnerOptions {
  /** One check's time limit (CHECK_TIMEOUT_MS). */
  checkTimeoutMs: number;
  /** One run of all checks together; a check never gets more than what is left (CHECKS_TOTAL_TIMEOUT_MS). */
  totalTimeoutMs: number;
  /** How much of each check's output is kept, in characters. */
  outputTailChars?: number;
  /** Time limit of the few commands that read the checkout's layout. */
  readTimeoutMs?: number;
}

const DEFAULT_OUTPUT_TAIL_CHARS = 4_096;

// Test runners behave as in CI (no watch mode, no prompts) and print without colour codes, which would only
// clutter the output tail in events, prompts and the pull request.
const CHECK_ENV = { CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', npm_config_color: 'false', npm_config_update_notifier: 'false' };

/**
 * Finds and runs a repository's checks with `sh -c` in its checkout, inside the job's sandbox: the commands are
 * the repository's (or the request's) and run with the same isolation and network as the agent. The sandbox's
 * own environment stays (local sandboxes set HTTPS_PROXY to the worker's egress proxy there).
 */
export class SandboxCheckRunner implements CheckRunner {
  private readonly outputTailChars: number;
  private readonly readTimeoutMs: number;

  constructor(private readonly opts: SandboxCheckRunnerOptions) {
    this.outputTailChars = opts.outputTailChars ?? DEFAULT_OUTPUT_TAIL_CHARS;
    this.readTimeoutMs = opts.readTimeoutMs ?? 30_000;
  }

  /** The request's list wins, then the repository's `.tinyb.yml`, then detection. */
  async plan(input: { sandbox: Sandbox; repoDir: string; requested?: readonly string[] }, signal: AbortSignal): Promise<CheckPlan> {
    if (input.requested !== undefined) return { source: 'request', checks: input.requested.map(asCheck) };
    const layout = await this.readLayout(input.sandbox, input.repoDir, signal);
    for (const name of CHECKS_FILE_NAMES) {
      const text = layout.files[name];
      if (text === undefined) continue;
      const content = parseChecksFile(text);
      if ('problem' in content) return { source: 'file', checks: [], problem: `${name}: ${content.problem}` };
      if (content.checks !== undefined) return { source: 'file', checks: content.checks.map(asCheck) };
      break;
    }
    return { source: 'detected', checks: detectChecks(layout) };
  }

  async run(
    input: { sandbox: Sandbox; repoDir: string; plan: CheckPlan },
    opts: { signal: AbortSignal; onCompleted?(run: CheckRun): Promise<void> },
  ): Promise<CheckRun[]> {
    const { plan } = input;
    const runs: CheckRun[] = [];
    const report = async (run: CheckRun) => {
      runs.push(run);
      await opts.onCompleted?.(run);
    };
    if (plan.problem !== undefined) {
      // The checks file names the checks: broken, it is itself the failed check, for the repository to fix.
      await report({ command: CHECKS_FILE_NAMES[0], setup: true, exitCode: null, timedOut: false, durationMs: 0, passed: false, outputTail: plan.problem });
      return runs;
    }
    const deadline = performance.now() + this.opts.totalTimeoutMs;
    for (const check of plan.checks) {
      const leftMs = Math.floor(deadline - performance.now());
      if (leftMs <= 0) {
        await report({ ...check, exitCode: null, timedOut: true, durationMs: 0, passed: false, outputTail: `not run: the checks' total time limit of ${this.opts.totalTimeoutMs} ms was spent` });
        continue;
      }
      await report(await this.runOne(input.sandbox, input.repoDir, check, Math.min(this.opts.checkTimeoutMs, leftMs), opts.signal));
    }
    return runs;
  }

  private async runOne(sandbox: Sandbox, repoDir: string, check: PlannedCheck, timeoutMs: number, signal: AbortSignal): Promise<CheckRun> {
    const tail = new OutputTail(this.outputTailChars);
    const startedAt = performance.now();
    const result = await sandbox.exec(['sh', '-c', check.command], {
      cwd: repoDir,
      env: CHECK_ENV,
      timeoutMs,
      signal,
      onOutput: (chunk) => tail.push(chunk.data),
    });
    const durationMs = Math.round(performance.now() - startedAt);
    if (result.timedOut) tail.push(`\n[killed after its time limit of ${timeoutMs} ms]\n`);
    return {
      ...check,
      exitCode: result.timedOut ? null : result.exitCode,
      timedOut: result.timedOut,
      durationMs,
      passed: !result.timedOut && result.exitCode === 0,
      outputTail: tail.toString(),
    };
  }

  /** The checkout's top-level entries and the few files detection reads, as they are now (before the agent runs). */
  private async readLayout(sandbox: Sandbox, repoDir: string, signal: AbortSignal): Promise<RepoLayout> {
    const listing = await sandbox.exec(['ls', '-1Ap'], { cwd: repoDir, timeoutMs: this.readTimeoutMs, signal });
    if (listing.exitCode !== 0 || listing.timedOut) return { entries: new Set(), files: {} };
    const entries = new Set(listing.stdout.split('\n').filter(Boolean));
    const files: Record<string, string> = {};
    for (const name of [...DETECTION_FILES, ...CHECKS_FILE_NAMES]) {
      // A symlink that leads out of the workspace is refused by readFile, and reads as absent here.
      if (!entries.has(name)) continue;
      const content = await sandbox.readFile(`${repoDir}/${name}`).catch(() => undefined);
      if (content !== undefined) files[name] = new TextDecoder().decode(content);
    }
    return { entries, files };
  }
}

const asCheck = (command: string): PlannedCheck => ({ command, setup: false });

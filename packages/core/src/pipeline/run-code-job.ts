import type { CodeJobData, JobResult, Usage } from '@tinyb/contracts';
import { AppError, throwIfAborted } from '../errors.js';
import type { CheckRunner } from '../ports/check-runner.js';
import type { CodingAgent } from '../ports/coding-agent.js';
import type { GitHost, RepoCoordinates } from '../ports/git-host.js';
import type { ModelAccess, ModelEndpoint } from '../ports/model-access.js';
import type { Sandbox, SandboxProvider } from '../ports/sandbox.js';
import type { Redactor } from '../redactor.js';
import type { StepContext } from '../ports/step-context.js';
import { describePullRequest } from './describe-pull-request.js';
import { branchMoved, followUpPrompt } from './follow-up.js';
import { advanceFollowUpBranch, finishFollowUp, inspectFollowUp, summaryOfLandedCommit, type FollowUpCheckout } from './follow-up-steps.js';
import { hasChanges, readChanges, type ChangeLimits } from './read-changes.js';
import { checkResultsOf, runChecksWithFixes } from './run-checks-with-fixes.js';
import { runStep } from './run-step.js';
import type { UsageMeter } from './usage-meter.js';

export interface PipelineDeps {
  sandboxProvider: SandboxProvider;
  /** Agents by the name a job asks for. */
  agents: ReadonlyMap<string, CodingAgent>;
  gitHost: GitHost;
  /**
   * Hands the agent its model endpoint for the attempt (the model gateway: the real keys stay in the worker).
   * Agents with a `modelProvider` need it.
   */
  modelAccess?: ModelAccess;
  limits: ChangeLimits & { agentTimeoutMs: number; agentMaxTurns: number };
  /** Branches are `${branchPrefix}${jobId}`: one branch per job, so a retry finds and reuses its own. */
  branchPrefix: string;
  /** The process's redactor: pull request text (from the prompt and the agent's summary) passes through it. */
  redactor: Redactor;
  /** Where the API is reachable (PUBLIC_URL), for the events link in a follow-up's PR comment; unset: the API path alone. */
  publicUrl?: string;
  /**
   * The repository's checks, run after the agent; a failing check gives the agent up to `maxFixRounds` more runs.
   * Unset: no checks.
   */
  checks?: { runner: CheckRunner; maxFixRounds: number };
}

export interface CodeJob {
  id: string;
  attempt: number;
  data: CodeJobData;
}

/** A step context plus the job's usage meter, which only the agent step reports to. */
export interface JobContext extends StepContext {
  usage: UsageMeter & { total(): Usage };
}

/**
 * One attempt at a job, as a table of contents: sandbox, clone, agent, commit, branch, pull request.
 * The sandbox is destroyed whatever happens. Safe to run again for the same job: the branch is moved,
 * not duplicated, and an open pull request for it is reused.
 */
export async function runCodeJob(job: CodeJob, deps: PipelineDeps, ctx: JobContext): Promise<JobResult> {
  const agent = deps.agents.get(job.data.agent);
  if (!agent) throw new AppError('unknown_agent', `agent '${job.data.agent}' is not available on this worker`);
  const repo: RepoCoordinates = { owner: job.data.repo.owner, name: job.data.repo.name };

  let sandbox: Sandbox | undefined;
  try {
    sandbox = await runStep('create_sandbox', ctx, () =>
      deps.sandboxProvider.create({ jobId: job.id, attempt: job.attempt, toolPaths: agent.toolPaths }, ctx.signal),
    (s) => `${deps.sandboxProvider.name} sandbox ${s.id}`);
    const box = sandbox;
    const repoDir = `${box.workspaceDir}/repo`;

    const checkout = await runStep('clone', ctx, (stepCtx) => cloneRepo(box, repoDir, repo, job, deps, stepCtx),
      (c) => `${c.baseBranch} at ${c.baseSha.slice(0, 12)}${c.followUp?.landed ? ' (committed by an earlier attempt)' : ''}`);
    // A follow-up whose earlier attempt already committed only finishes: a second agent run would stack a second commit.
    if (checkout.followUp?.landed) {
      const { followUp } = checkout;
      const landed = followUp.landed!;
      return await runStep('open_pr', ctx, async (stepCtx) =>
        finishFollowUp(job, repo, followUp, {
          sha: landed.sha,
          summary: summaryOfLandedCommit(landed.message, job.id),
          files: await deps.gitHost.getCommitFiles(repo, landed.sha, ctx.signal),
          usage: ctx.usage.total(),
        }, deps, stepCtx),
      (r) => r.pr?.url ?? '');
    }

    // Read before the agent runs, so the agent cannot choose the commands that judge its work.
    const checkPlan = deps.checks
      ? await deps.checks.runner.plan({ sandbox: box, repoDir, ...(job.data.checks ? { requested: job.data.checks } : {}) }, ctx.signal)
      : undefined;

    // Each run (the first, and every fix round) gets a model grant of its own; the job's meter carries the usage over.
    const runAgent = (prompt: string, stepCtx: StepContext) =>
      withModelAccess(agent, job, deps, ctx, (modelEndpoint) =>
        agent.run(
          {
            sandbox: box,
            workdir: repoDir,
            scratchDir: `${box.workspaceDir}/scratch`,
            prompt,
            ...(job.data.model === undefined ? {} : { model: job.data.model }),
            timeoutMs: deps.limits.agentTimeoutMs,
            maxTurns: deps.limits.agentMaxTurns,
            usage: ctx.usage,
            ...(modelEndpoint ? { modelEndpoint } : {}),
          },
          stepCtx,
        ),
      );
    const task = checkout.followUp ? followUpPrompt(job.data.prompt, checkout.followUp.pr, checkout.followUp.comments) : job.data.prompt;
    const agentRun = await runStep('run_agent', ctx, (stepCtx) => runAgent(task, stepCtx));

    // Checks judge a change: when the agent made none, there is nothing to check (nor to fix beyond the task).
    const checks =
      deps.checks && checkPlan && (await hasChanges(box, repoDir, checkout.baseSha, deps.limits, ctx.signal))
        ? await runChecksWithFixes(
            { runner: deps.checks.runner, plan: checkPlan, sandbox: box, repoDir, task, maxFixRounds: deps.checks.maxFixRounds, fix: runAgent },
            ctx,
          )
        : undefined;
    const checksFailed = checks !== undefined && !checks.passed;
    const usageAndChecks = { usage: ctx.usage.total(), ...(checks ? { checks: checkResultsOf(checks) } : {}) };

    // A follow-up commits to the pull request's own branch; any other job to a branch of its own.
    const branch = checkout.followUp ? checkout.baseBranch : `${deps.branchPrefix}${job.id}`;
    const commit = await runStep('commit', ctx, async (stepCtx) => {
      const files = await readChanges(box, repoDir, checkout.baseSha, deps.limits, ctx.signal);
      if (files.length === 0) return null;
      // The summary is the agent's to write, and a hostile agent may put what it found in the sandbox there.
      const { title, body, commitMessage } = deps.redactor.redactValue(describePullRequest(job, agentRun.summary, files, checks));
      const sha = await deps.gitHost.createCommit(repo, { baseSha: checkout.baseSha, files, message: commitMessage }, ctx.signal);
      const filesChanged = files.map(({ path, change }) => ({ path, change }));
      await stepCtx.emit({ type: 'git.committed', sha, branch, filesChanged });
      stepCtx.logger.info({ sha, files: filesChanged.length }, 'changes committed');
      return { sha, filesChanged, title, body };
    }, (c) => (c ? `${c.filesChanged.length} file(s), ${c.sha.slice(0, 12)}` : 'no changes'));

    if (!commit) {
      return { outcome: 'no_changes', filesChanged: [], summary: agentRun.summary, ...usageAndChecks };
    }

    const { followUp } = checkout;
    if (followUp) {
      const pushed = await runStep('push_branch', ctx, (stepCtx) => advanceFollowUpBranch(repo, job.id, followUp, commit.sha, deps.gitHost, stepCtx),
        (p) => `${branch} → ${p.sha.slice(0, 12)}${p.byThisAttempt ? '' : ' (an earlier attempt\'s)'}`);
      return await runStep('open_pr', ctx, (stepCtx) =>
        finishFollowUp(job, repo, followUp, { sha: pushed.sha, summary: agentRun.summary, files: commit.filesChanged, usage: ctx.usage.total() }, deps, stepCtx),
      (r) => r.pr?.url ?? '');
    }
    await runStep('push_branch', ctx, () => deps.gitHost.pushBranch(repo, branch, commit.sha, ctx.signal), () => branch);
    const pr = await runStep('open_pr', ctx, () =>
      deps.gitHost.openPullRequest(
        repo,
        // A pull request whose checks fail is a draft: it says so at the top, and nobody merges it by mistake.
        { branch, base: checkout.baseBranch, title: commit.title, body: commit.body, draft: job.data.draft || checksFailed },
        ctx.signal,
      ),
    (p) => p.url);
    await ctx.emit({ type: 'pr.created', url: pr.url, number: pr.number, branch: pr.branch, reused: pr.reused });

    return {
      outcome: 'pr_opened',
      pr: { url: pr.url, number: pr.number, branch: pr.branch },
      filesChanged: commit.filesChanged,
      summary: agentRun.summary,
      ...usageAndChecks,
    };
  } finally {
    if (sandbox) await destroySandbox(sandbox, ctx);
  }
}

/**
 * Runs the agent with a model grant that lives exactly as long as the agent step: whatever the sandbox
 * kept of the token is worthless once the agent is done, failed or was stopped.
 */
async function withModelAccess<T>(
  agent: CodingAgent,
  job: CodeJob,
  deps: PipelineDeps,
  ctx: JobContext,
  run: (endpoint: ModelEndpoint | undefined) => Promise<T>,
): Promise<T> {
  if (agent.modelProvider === undefined) return run(undefined);
  if (!deps.modelAccess) throw new AppError('unknown_agent', `agent '${agent.name}' needs model access, and this worker has none configured`);
  const grant = await deps.modelAccess.grant({ jobId: job.id, attempt: job.attempt, usage: ctx.usage, signal: ctx.signal });
  try {
    return await run(grant.endpoint(agent.modelProvider));
  } finally {
    await grant.revoke();
  }
}

/**
 * Checks the repository out for the agent: the requested (or default) base branch, or for a follow-up the pull
 * request's head branch at the head it was pinned to (judged first: open, not a fork, not moved).
 */
async function cloneRepo(
  sandbox: Sandbox,
  repoDir: string,
  repo: RepoCoordinates,
  job: CodeJob,
  deps: PipelineDeps,
  ctx: StepContext,
): Promise<{ baseBranch: string; baseSha: string; followUp?: FollowUpCheckout }> {
  const followUp = job.data.followUp ? await inspectFollowUp(repo, job.id, job.data.followUp, deps.gitHost, ctx) : undefined;
  if (followUp?.landed) return { baseBranch: followUp.pr.head.ref, baseSha: followUp.pinnedSha, followUp };
  const baseBranch = followUp?.pr.head.ref ?? job.data.baseBranch ?? (await deps.gitHost.getRepo(repo, ctx.signal)).defaultBranch;
  const archivePath = `${sandbox.workspaceDir}/checkout.tar`;
  const sha = await placeCheckout(sandbox, archivePath, repo, baseBranch, deps.gitHost, ctx);
  // The branch may move between the PR's read and the clone: the agent must work on the pinned head, nothing newer.
  if (followUp && sha !== followUp.pinnedSha) throw branchMoved(followUp.pr.number, followUp.pinnedSha, sha);
  const run = async (argv: string[]) => {
    const r = await sandbox.exec(argv, { timeoutMs: deps.limits.commandTimeoutMs, signal: ctx.signal });
    if (r.exitCode !== 0 || r.timedOut) {
      throw new AppError('clone_failed', `${argv[0]} failed in the sandbox: ${r.stderr.trim().slice(0, 500)}`, { retryable: true });
    }
  };
  await run(['mkdir', '-p', repoDir, `${sandbox.workspaceDir}/scratch`]);
  await run(['tar', '-xf', archivePath, '-C', repoDir]);
  await run(['rm', '-f', archivePath]);
  // Agents commit as they like; give them an identity so `git commit` inside the sandbox works.
  await run(['git', '-C', repoDir, 'config', 'user.name', 'Tiny Backspace']);
  await run(['git', '-C', repoDir, 'config', 'user.email', 'tiny-backspace@users.noreply.github.com']);
  return { baseBranch, baseSha: sha, ...(followUp ? { followUp } : {}) };
}

/**
 * Puts the checkout's archive at `archivePath` in the sandbox and returns its commit. With a host that lends
 * archives (a per-worker cache by repository and commit) it is streamed from the host's disk, never held whole in
 * memory; otherwise it is downloaded into memory and written. Each job extracts its own copy: the cache is
 * read-only and no directory is ever shared between jobs.
 */
async function placeCheckout(sandbox: Sandbox, archivePath: string, repo: RepoCoordinates, branch: string, gitHost: GitHost, ctx: StepContext): Promise<string> {
  if (gitHost.openCheckout === undefined) {
    const { sha, archive } = await gitHost.downloadCheckout(repo, branch, ctx.signal);
    throwIfAborted(ctx.signal);
    await sandbox.writeFile(archivePath, archive);
    return sha;
  }
  const lease = await gitHost.openCheckout(repo, branch, ctx.signal);
  try {
    throwIfAborted(ctx.signal);
    ctx.logger.info({ sha: lease.sha, bytes: lease.bytes, cached: lease.cached }, 'checkout ready');
    if (sandbox.writeFileStream) {
      await sandbox.writeFileStream(archivePath, lease.chunks(), ctx.signal);
    } else {
      const whole = new Uint8Array(lease.bytes);
      let at = 0;
      for await (const chunk of lease.chunks()) {
        whole.set(chunk, at);
        at += chunk.byteLength;
      }
      await sandbox.writeFile(archivePath, whole.subarray(0, at));
    }
    return lease.sha;
  } finally {
    lease.release();
  }
}

/** Destroying must happen even when the job was cancelled, and must never hide the job's own error. */
async function destroySandbox(sandbox: Sandbox, ctx: StepContext): Promise<void> {
  try {
    await runStep('destroy_sandbox', ctx, () => sandbox.destroy());
  } catch (err) {
    ctx.logger.error({ err, sandboxId: sandbox.id }, 'sandbox destroy failed');
  }
}

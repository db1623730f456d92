import { RepoUrlError, parseRepoUrl, type CodeJobData, type CodeJobRequest } from '@tinyb/contracts';
import { AppError } from '@tinyb/core';
import type { ResolvedFollowUp } from './follow-up-request.js';

/** What of the API's configuration shapes a job. */
export interface JobDefaults {
  githubUrl: string;
  defaultAgent: string;
  /** The agents this deployment knows (KNOWN_AGENTS): whether a worker that has one runs right now does not matter. */
  knownAgents: readonly string[];
}

/**
 * A validated request becomes job data: the repository checked against the configured GitHub, the agent
 * checked against the agents this deployment knows, defaults applied. Every refusal is a 400 with a clear
 * code. A known agent no live worker has is accepted: its job waits in the agent's queue for one.
 */
export function toJobData(body: CodeJobRequest, config: JobDefaults, followUp?: ResolvedFollowUp): CodeJobData {
  let repo;
  try {
    // A follow-up's repository is its pull request's (resolveFollowUp checked that repo_url, if any, agrees).
    repo = followUp?.repo ?? parseRepoUrl(body.repo_url ?? '', config.githubUrl);
  } catch (err) {
    if (err instanceof RepoUrlError) throw new AppError('invalid_repo_url', err.message);
    throw err;
  }
  const agent = body.agent ?? config.defaultAgent;
  if (!config.knownAgents.includes(agent)) {
    throw new AppError('unknown_agent', `agent '${agent}' is not known here; available: ${config.knownAgents.join(', ')}`);
  }
  const budget = {
    ...(body.max_cost_usd === undefined ? {} : { maxCostUsd: body.max_cost_usd }),
    ...(body.max_tokens === undefined ? {} : { maxTokens: body.max_tokens }),
  };
  return {
    repo,
    prompt: body.prompt,
    agent,
    draft: body.draft ?? false,
    requestedAt: new Date().toISOString(),
    ...(body.model === undefined ? {} : { model: body.model }),
    ...(body.base_branch === undefined ? {} : { baseBranch: body.base_branch }),
    ...(body.requested_by === undefined ? {} : { requestedBy: body.requested_by }),
    ...(Object.keys(budget).length === 0 ? {} : { budget }),
    ...(followUp === undefined ? {} : { followUp: followUp.target }),
    ...(body.checks === undefined ? {} : { checks: body.checks }),
  };
}

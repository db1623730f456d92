import { RepoUrlError, parseRepoUrl, type CodeJobData, type CodeJobRequest, type OfferedAgent } from '@tinyb/contracts';
import { AppError } from '@tinyb/core';

/** What of the API's configuration shapes a job. */
export interface JobDefaults {
  githubUrl: string;
  defaultAgent: string;
}

/**
 * A validated request becomes job data: the repository checked against the configured GitHub, the agent
 * checked against what live workers offer, defaults applied. Every refusal is a 400 with a clear code.
 */
export function toJobData(body: CodeJobRequest, config: JobDefaults, offered: OfferedAgent[]): CodeJobData {
  let repo;
  try {
    repo = parseRepoUrl(body.repo_url, config.githubUrl);
  } catch (err) {
    if (err instanceof RepoUrlError) throw new AppError('invalid_repo_url', err.message);
    throw err;
  }
  const agent = body.agent ?? config.defaultAgent;
  if (!offered.some((a) => a.name === agent)) {
    const available = offered.map((a) => a.name).join(', ');
    throw new AppError(
      'unknown_agent',
      available
        ? `agent '${agent}' is not available; available: ${available}`
        : `agent '${agent}' is not available: no worker has offered any agent recently (are workers running?)`,
    );
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
  };
}

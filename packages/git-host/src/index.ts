export { GitHubHost, type CommitAuthor, type GitHubHostOptions } from './github-host.js';
export { GitHubIssueTracker, type GitHubIssueTrackerOptions } from './github-issue-tracker.js';
export {
  createGitHubOctokit,
  type GitHubAppIdentity,
  type GitHubOctokit,
  type GitHubOctokitOptions,
  type GitHubOctokitSettings,
} from './create-github-octokit.js';
export type { GitHubCredentials, RepoCredentials } from './github-credentials.js';
export { PersonalTokenCredentials, type PersonalTokenCredentialsOptions } from './personal-token-credentials.js';
export { GitHubAppCredentials, INSTALLATION_TOKEN_PERMISSIONS, type GitHubAppCredentialsOptions } from './github-app-credentials.js';
export { loadGitHubAppPrivateKey } from './load-github-app-private-key.js';
export { toGitHostError } from './github-error.js';
export { CheckoutCache, temporaryCheckoutCache, type CheckoutArchiver, type CheckoutCacheOptions } from './checkout-cache.js';

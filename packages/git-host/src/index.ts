export { GitHubHost, type GitHubHostOptions } from './github-host.js';
export { createGitHubOctokit, type GitHubOctokit, type GitHubOctokitOptions } from './create-github-octokit.js';
export { toGitHostError } from './github-error.js';

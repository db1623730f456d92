export { SandboxCheckRunner, type SandboxCheckRunnerOptions } from './sandbox-check-runner.js';
export { detectChecks, type RepoLayout } from './detect-checks.js';
export { parseChecksFile, CHECKS_FILE_NAMES } from './checks-file.js';

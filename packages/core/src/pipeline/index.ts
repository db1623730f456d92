export * from './run-code-job.js';
export * from './run-step.js';
export * from './read-changes.js';
export * from './describe-pull-request.js';
export * from './usage-meter.js';
export * from './follow-up.js';
export * from './follow-up-steps.js';

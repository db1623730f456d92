export * from './errors.js';
export * from './logger.js';
export * from './ports/sandbox.js';
export * from './ports/coding-agent.js';
export * from './ports/step-context.js';
export * from './ports/git-host.js';
export * from './ports/job-events.js';
export * from './job-status.js';

export * from './errors.js';
export * from './job-request.js';
export * from './job-event.js';
export * from './job-status.js';
export * from './github-trigger.js';
export * from './queue-names.js';
export * from './repo-url.js';
export * from './pull-request-url.js';

export * from './create-logger.js';
export * from './parse-env.js';
export * from './env-schemas.js';
export * from './load-dot-env.js';
export * from './register-env-secrets.js';
export * from './tracing.js';

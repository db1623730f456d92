// One jest setup for every package: TypeScript through @swc/jest as CommonJS (no Node flags needed),
// workspace packages mapped to their sources so tests never need a build.
const path = require('node:path');

// ESM-only dependencies that jest (CommonJS) must transform; pnpm puts them under node_modules/.pnpm/.
const esmOnly = ['@octokit', 'universal-user-agent', 'before-after-hook', 'bottleneck', 'fast-content-type-parse', 'json-with-bigint', 'toad-cache', 'eventsource-parser', 'content-type', 'universal-github-app-jwt'];

// @octokit/webhooks-methods offers its Node build under the `import` condition only, which jest's CommonJS
// resolver never asks for: point jest at that build (transformed like every @octokit module).
const webhooksMethods = path.join(__dirname, 'node_modules/.pnpm/node_modules/@octokit/webhooks-methods/dist-node/index.js');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testTimeout: 30000,
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(\\.pnpm/)?(${esmOnly.join('|')}))`],
  moduleNameMapper: {
    '^@tinyb/([a-z-]+)$': path.join(__dirname, 'packages/$1/src/index.ts'),
    '^@tinyb/([a-z-]+)/([a-z-]+)$': path.join(__dirname, 'packages/$1/src/$2.ts'),
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^@octokit/webhooks-methods$': webhooksMethods,
  },
};

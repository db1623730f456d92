// One jest setup for every package: TypeScript through @swc/jest as CommonJS (no Node flags needed),
// workspace packages mapped to their sources so tests never need a build.
const path = require('node:path');

// ESM-only dependencies that jest (CommonJS) must transform; pnpm puts them under node_modules/.pnpm/.
const esmOnly = ['@octokit', 'universal-user-agent', 'before-after-hook', 'bottleneck', 'fast-content-type-parse', 'json-with-bigint', 'toad-cache', 'eventsource-parser', 'content-type', 'universal-github-app-jwt'];

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
  },
};

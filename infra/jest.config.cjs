const preset = require('../jest.preset.cjs');

// ESM-only packages (kubernetes-models, its KEDA models, and what their validator imports) go through swc too.
const esmOnly = ['kubernetes-models', '@kubernetes-models', 'is-cidr', 'cidr-regex', 'ip-regex'];
module.exports = {
  ...preset,
  resolver: require.resolve('./jest-resolver.cjs'),
  transformIgnorePatterns: [`/node_modules/(?!(\\.pnpm/)?(${esmOnly.join('|')}))`],
};

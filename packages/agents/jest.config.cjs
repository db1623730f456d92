const { availableParallelism } = require('node:os');

// The integration tests mostly wait on the real CLIs (claude, gemini, codex) starting in sandboxes, so two files at
// a time keep a 2-core machine busy where jest's default (cores - 1) would run one. Each file's sandboxes (under
// its own pid), fake model and process markers are its own.
module.exports = { ...require('../../jest.preset.cjs'), maxWorkers: Math.max(2, availableParallelism() - 1) };

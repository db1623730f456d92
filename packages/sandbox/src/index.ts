export { LocalSandboxProvider, type LocalSandboxProviderOptions } from './local-sandbox-provider.js';
export { LocalSandbox } from './local-sandbox.js';
export { findBwrap } from './find-bwrap.js';
export { defaultEtcEntries } from './bwrap-args.js';

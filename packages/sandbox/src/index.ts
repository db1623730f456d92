export { LocalSandboxProvider, type LocalSandboxProviderOptions } from './local-sandbox-provider.js';
export { LocalSandbox } from './local-sandbox.js';
export { findBwrap } from './find-bwrap.js';
export { defaultEtcEntries } from './bwrap-args.js';
export {
  DaytonaSandboxProvider,
  appLabel,
  type DaytonaSandboxProviderOptions,
  type DaytonaSandboxSource,
  type OwnSandbox,
} from './daytona/daytona-sandbox-provider.js';
export { DaytonaSandbox } from './daytona/daytona-sandbox.js';
export { WarmSandboxPool, type WarmSandboxPoolOptions } from './daytona/warm-sandbox-pool.js';
export { SandboxReaper, type SandboxReaperDeps, type SweepResult, type ReapReason } from './daytona/sandbox-reaper.js';
export { toSandboxError as daytonaErrorToAppError } from './daytona/daytona-error.js';
export { SandboxNetwork, sandboxSocketDir, type SandboxNetworkOptions, type SandboxPortForward } from './sandbox-network.js';
export { EgressProxy, type EgressProxyOptions, type ResolvedAddress } from './egress-proxy.js';
export { EgressAllowList, defaultEgressPorts } from './egress-allow-list.js';
export { isNonPublicAddress } from './non-public-address.js';
export { findExecutable } from './find-executable.js';

export type { ClusterApiNodeProviderOptions } from './cluster-api-node-provider.ts';
export { ClusterApiNodeProvider } from './cluster-api-node-provider.ts';
export type { CommandNodeProviderOptions } from './command-node-provider.ts';
export { CommandNodeProvider } from './command-node-provider.ts';
export type { CommandProviderOptions } from './command-provider.ts';
export { CommandProvider, PLACEHOLDERS, renderCommand, shellQuote } from './command-provider.ts';
export type {
  EtcdMemberCommandOptions,
  EtcdMemberContext,
  EtcdMemberProvider,
  EtcdUpgradeSettings,
} from './etcd-member-command.ts';
export { EtcdMemberCommandProvider } from './etcd-member-command.ts';
export type { JobProviderOptions } from './job-provider.ts';
export { JobProvider, TARGET_VERSION_ANNOTATION, upgradeJobName } from './job-provider.ts';
export type { NewNodeRule } from './new-node-rule.ts';
export { matchesNewNodeRule } from './new-node-rule.ts';
export type {
  CreatedNodes,
  CreateNodesContext,
  DeleteNodeContext,
  NodeGroupProvider,
} from './node-group-provider.ts';
export type { NodeProviderEnvironment } from './node-provider-from-policy.ts';
export { nodeProviderFromPolicy } from './node-provider-from-policy.ts';
export type { ProviderEnvironment, ProviderSettings } from './provider-from-policy.ts';
export { providerFromPolicy } from './provider-from-policy.ts';
export type {
  CommandOutcome,
  CommandResult,
  LoggedCommandOptions,
  RunCommandOptions,
} from './run-command.ts';
export {
  CommandNotStartedError,
  DEFAULT_KILL_GRACE_MS,
  runCommand,
  runLoggedCommand,
} from './run-command.ts';
export { SandboxApiProvider } from './sandbox-api-provider.ts';
export type { SandboxNodeProviderOptions } from './sandbox-node-provider.ts';
export { SandboxNodeProvider } from './sandbox-node-provider.ts';
export type { NodeRole, UpgradeContext, UpgradeProvider } from './upgrade-provider.ts';
export { OutputTail, ProviderConfigError, ProviderError } from './upgrade-provider.ts';

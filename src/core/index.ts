/**
 * Core: the pure rules every other folder shares (versions, quantities, selectors, the cluster model). Other
 * folders import core through this file only.
 */
export type { AdmissionCandidate, AdmissionChoice, AdmissionInput, AdmissionVerdict } from './admission.ts';
export { chooseNextNode, judgeCandidate } from './admission.ts';
export type { BudgetState } from './budgets.ts';
export { budgetStatesOf } from './budgets.ts';
export type { CapacityModel, Resources } from './capacity.ts';
export { capacityModelOf, podRequests, surgeCapacityOf } from './capacity.ts';
export type { Clock, Timer } from './clock.ts';
export { clockFromTimeScale, RealClock, ScaledClock, VirtualClock } from './clock.ts';
export type { MachinePhase } from './cluster-api.ts';
export {
  CAPI_API_VERSION,
  CAPI_CLUSTER_NAME_LABEL,
  CAPI_DELETE_MACHINE_ANNOTATION,
  CAPI_DEPLOYMENT_NAME_LABEL,
  CAPI_GROUP,
  CAPI_MACHINE_ANNOTATION,
  CAPI_MACHINE_FINALIZER,
  CAPI_SET_NAME_LABEL,
  CAPI_TEMPLATE_HASH_LABEL,
  CAPI_VERSION,
} from './cluster-api.ts';
export type { ClusterModel, NodeModel } from './cluster-model.ts';
export {
  CONTROL_PLANE_POOL,
  clusterModelOf,
  conditionStatus,
  hasEmptyDir,
  isDaemonSetPod,
  isEvictable,
  isHealthyForBudget,
  isMirrorPod,
  isPodReady,
  isTerminalPod,
  podKey,
  poolOfNode,
  resolvePools,
  sourceVersionOf,
} from './cluster-model.ts';
export { fillTemplate, placeholdersIn, shellQuote, unknownPlaceholders } from './command-template.ts';
export { DurationParseError, formatDuration, parseDuration } from './duration.ts';
export type { MemberHealth, MemberWording } from './etcd-quorum.ts';
export { faultToleranceOf, memberDownProblem, quorumLossOf, quorumOf } from './etcd-quorum.ts';
export type { EtcdMemberState, EtcdUpgradeStage } from './etcd-roll.ts';
export {
  ETCD_MEMBER_PLACEHOLDERS,
  ETCD_UPGRADE_STAGES,
  followersFirst,
  laggingMembers,
} from './etcd-roll.ts';
export type { FailureClass } from './failure-class.ts';
export { declaredFailureClass, mayRetry } from './failure-class.ts';
export type { IntOrString } from './intorstr.ts';
export { isPercent, isValidIntOrPercent, isZeroIntOrPercent, scaledValue } from './intorstr.ts';
export type { Inventory } from './inventory.ts';
export { buildInventory } from './inventory.ts';
export type { KubeadmAddon } from './kubeadm-addons.ts';
export { addonsBehind, addonVerdict, KUBEADM_ADDONS } from './kubeadm-addons.ts';
export type {
  ActiveExclusion,
  Exclusion,
  MaintenanceWindow,
  Weekday,
  WindowState,
} from './maintenance-window.ts';
export {
  describeWindow,
  exclusionAt,
  exclusionInstant,
  formatInZone,
  isTimeZone,
  maintenanceWindowProblem,
  parseClockTime,
  WEEKDAYS,
  weekdayOf,
  windowStateAt,
} from './maintenance-window.ts';
export type { MeasuredTimings, PoolMeasurement } from './measured-timings.ts';
export { median } from './measured-timings.ts';
export { formatMeasurement } from './measurement.ts';
export { poolInFlightLimit } from './pool-in-flight-limit.ts';
export {
  cpuMillis,
  formatBytes,
  formatCpu,
  isQuantity,
  parseBytes,
  parseCpuMillis,
  parseQuantity,
  quantityOrZero,
} from './quantity.ts';
export type { RemovedApi } from './removed-apis.ts';
export { findRemovedApi } from './removed-apis.ts';
export { PENDING_UPGRADE_TAINT_KEY, REPLACES_LABEL, RUN_ID_LABEL } from './run-id-label.ts';
export type { LabelSelector, Requirement } from './selectors.ts';
export {
  formatLabelSelector,
  matchesLabelSelector,
  matchesRequirements,
  parseLabelSelector,
  requirementsOf,
  SelectorParseError,
  selectorAnchor,
} from './selectors.ts';
export type { SkewComponent } from './skew.ts';
export { kubeProxyKubeletViolation, skewViolation } from './skew.ts';
export type {
  ClusterSnapshot,
  CustomResourceDefinition,
  HelmRelease,
  KubeResource,
  Lease,
  Namespace,
  Node,
  Pod,
  PodDisruptionBudget,
  ServerInfo,
  Service,
  WebhookConfiguration,
  Workload,
  WorkloadKind,
} from './snapshot.ts';
export { clusterFingerprint } from './snapshot.ts';
export type { Taint, Toleration } from './taints.ts';
export { firstUntoleratedTaint, isHardTaint, tolerates, toleratesTaint } from './taints.ts';
export type { KubeVersion } from './versions.ts';
export {
  COREDNS_BY_MINOR,
  compareVersions,
  formatMinor,
  formatVersion,
  KNOWN_RELEASES,
  latestPatchOf,
  lowestVersion,
  minorHops,
  minorPath,
  parseReleaseVersion,
  parseVersion,
  resolveTargetVersion,
  tryParseVersion,
  VersionParseError,
  versionFromImage,
  versionStatus,
} from './versions.ts';
export type { SourcePosition, YamlSource } from './yaml-source.ts';
export { keepVersionsAsWritten, parseYamlDocuments, parseYamlSource, versionTextOf } from './yaml-source.ts';

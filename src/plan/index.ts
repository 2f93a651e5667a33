export { DEFAULT_ETCD_BACKUP_DIR } from './control-plane-phase.ts';
export type { EtcdMemberPolicy, EtcdPolicy, EtcdTlsPolicy, EtcdUpgradePolicy } from './etcd-policy.ts';
export { normalizeEtcdVersion } from './etcd-policy.ts';
export type { BudgetLimit, FlowOrder, FlowOrderInput } from './flow-order.ts';
export { flowOrder } from './flow-order.ts';
export type { LowerBound, PoolBoundInput, PoolLowerBound, TogetherLowerBound } from './lower-bound.ts';
export { lowerBound, poolLowerBound } from './lower-bound.ts';
export { wavesTaintingPendingNodes } from './pending-taint-waves.ts';
export { blockedSummary, withPreflightBlockers } from './plan-blockers.ts';
export type {
  ClusterStep,
  ControlPlaneStep,
  EtcdMemberStep,
  FlowGroupEstimate,
  NodeStep,
  NodeWaveStep,
  PhaseKind,
  Plan,
  PlanBlocker,
  PlanEstimate,
  PlanPhase,
  PlanStep,
  PoolTimings,
  StepKind,
  StepReason,
  TimingEstimate,
  TimingSource,
} from './plan-types.ts';
export { isNodeWave, PHASE_KINDS, PLAN_SCHEMA_VERSION, poolOfStep, STEP_KINDS } from './plan-types.ts';
export type { PlanOptions } from './planner.ts';
export { PlanError, planId, planUpgrade } from './planner.ts';
export type {
  EtcdBackupPolicy,
  Exclusion,
  MaintenanceWindow,
  OnOutsideWindow,
  Policy,
  PolicyError,
  PolicyResult,
  PoolConcurrency,
  PoolPolicy,
} from './policy.ts';
export {
  DEFAULT_MAX_QUARANTINED,
  defaultPolicy,
  formatPolicyError,
  ON_OUTSIDE_WINDOW,
  POLICY_API_VERSION,
} from './policy.ts';
export type { PolicyFileResult } from './policy-parse.ts';
export { policyFromYaml } from './policy-parse.ts';
export { validatePolicy } from './policy-validate.ts';
export type { NodeReason } from './reasons.ts';
export { describeBound, describeReason, isBudgetWarning } from './reasons.ts';
export { renderRunbook } from './render-markdown.ts';
export { renderPlanTable } from './render-table.ts';
export { renderPlanJson, renderPlanYaml } from './render-yaml.ts';

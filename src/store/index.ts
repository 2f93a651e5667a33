export type { RunHistory } from './measured-history.ts';
export { clusterHistory, measuredTimings } from './measured-history.ts';
export { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
export type {
  DrainBlockRecord,
  EtcdMemberRowDetail,
  NodeGroupRowDetail,
  NodeRowDetail,
  PhaseRowDetail,
  PodBlock,
  ReplacementRecord,
  RowDetail,
  StepRowDetail,
} from './row-detail.ts';
export { isNodeRow } from './row-detail.ts';
export type { RunStoreOptions } from './run-store.ts';
export { defaultStatePath, RunNotFoundError, RunStore, StoreError } from './run-store.ts';
export type {
  GateEvaluationRecord,
  LogEntry,
  LogLevel,
  NewGateEvaluation,
  NewLogEntry,
  NewRun,
  NodeSubStep,
  RequestedAction,
  RunMode,
  RunRecord,
  RunState,
  StepIntent,
  StepStatePatch,
  StepStateRecord,
  StepStatus,
} from './run-types.ts';
export {
  FINISHED_STATES,
  NODE_SUB_STEPS,
  nodeStepEnded,
  RESUMABLE_STATES,
  RUN_MODES,
  RUN_STATES,
  STEP_STATUSES,
} from './run-types.ts';
export {
  commandOutputFile,
  etcdBackupsDir,
  kubeconfigCopiesDir,
  runOutputDir,
  stateDirOf,
} from './state-dir.ts';

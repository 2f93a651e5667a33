export type { PlanRejection } from './errors.ts';
export { HookFailedError, PlanRejectedError, RunStateError, StepFailedError } from './errors.ts';
export type { Hooks } from './hooks.ts';
export { hooksOf } from './hooks.ts';
export { ExclusionRefusedError } from './maintenance-window.ts';
export {
  checkPlanCluster,
  checkPlanIntegrity,
  checkPlanVersions,
  planFieldsCutOff,
  planHashOf,
  planShapeProblems,
} from './plan-check.ts';
export type { RollbackPlan, RollbackTarget } from './rollback.ts';
export { planRollback, rollbackRun } from './rollback.ts';
export type { EngineDeps, GateMonitorFactory, RunOptions } from './run-context.ts';
export { ANNOTATIONS } from './run-context.ts';
export type { NodeOutcome, PhaseSummary, PodBlock, RunEvent, RunSummary } from './run-events.ts';
export { requestAbort, requestPause } from './run-requests.ts';
export { summarizeRun } from './run-summary.ts';
export { newRunId, resumeRun, startRun, verifyPlan } from './upgrade-run.ts';

export {
  type ClusterToScenarioOptions,
  type CopiedCluster,
  clusterToScenario,
  controllerKey,
} from './cluster-to-scenario.ts';
export type { CompareMethod, ComparisonEntry, RehearsalComparison } from './compare.ts';
export {
  compareRehearsals,
  describeMethod,
  parseCompareValues,
  withMaxUnavailable,
  withSurge,
} from './compare.ts';
export type { NodeLoopOptions, NodeLoopResult } from './peers/node-loop.ts';
export { runNodeLoop } from './peers/node-loop.ts';
export type { BudgetHold, RehearsalRunInput, RehearsalRunResult } from './rehearsal-run.ts';
export { rehearseOnce } from './rehearsal-run.ts';
export type { RehearsalTimings, RehearsedTiming, TimingSource, TimingValue } from './rehearsal-timing.ts';
export {
  JITTER,
  REHEARSED_TIMINGS,
  rehearsalTimings,
  simTimingOf,
  timingKeysOf,
} from './rehearsal-timing.ts';
export type { CapacityShortfall, RehearsalReport, RehearseOptions, Spread } from './rehearse.ts';
export { REHEARSAL_REPORT_VERSION, rehearse, spreadOf } from './rehearse.ts';
export {
  renderComparison,
  renderReportJson,
  renderReportMarkdown,
  renderReportTable,
} from './render-report.ts';

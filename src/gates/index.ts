/** Gates: health measurements judged against conditions, deciding whether the run goes on. */
export type { MeasuredPair } from './burn-rate.ts';
export {
  burnRate,
  DEFAULT_BURN_THRESHOLD,
  DEFAULT_SLO_WINDOW,
  defaultBurnWindows,
  multiWindowBurn,
} from './burn-rate.ts';
export type { Condition, ConditionInputs } from './condition.ts';
export { ConditionSyntaxError, evaluateCondition, parseCondition } from './condition.ts';
export {
  createGateMonitor,
  GateBaselineError,
  GateConfigError,
  PROMETHEUS_LAG_MS,
} from './gate-monitor.ts';
export type { GatesResult, ValidateGatesOptions } from './gate-policy.ts';
export { GATE_DEFAULTS, gateSpecsOf, validateGates, validatePrometheus } from './gate-policy.ts';
export { TEMPLATES } from './gate-templates.ts';
export type {
  BurnRateSpec,
  BurnWindowPair,
  GateAction,
  GateDecision,
  GateEvaluation,
  GateFieldError,
  GateMonitor,
  GateMonitorDeps,
  GateProviderKind,
  GateSpec,
  GateTemplateName,
  GateVerdict,
  HeaderSource,
  HttpGateSettings,
  KubeQuery,
  PrometheusSettings,
} from './gate-types.ts';
export { GATE_ACTIONS, GATE_PROVIDERS, GATE_TEMPLATES, KUBE_QUERIES } from './gate-types.ts';
export { verdictOf } from './gate-verdict.ts';
export { NoDataError } from './measurement.ts';
export { queryPrometheus } from './providers/prometheus-query.ts';

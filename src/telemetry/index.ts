/**
 * Telemetry: the run's own metrics (`--metrics-addr`), and the Grafana dashboards and Prometheus rules
 * `midflight observability export` writes.
 */
export type { AlertRule, AlertRulesOptions, RecordingRule, RuleGroup, Severity } from './alert-rules.ts';
export { buildAlertRules } from './alert-rules.ts';
export { CNI_PODS, SERIES } from './cluster-series.ts';
export { buildDashboards } from './dashboards.ts';
export { SCHEMA_VERSION } from './grafana-json.ts';
export type { MetricsAddress } from './metrics-address.ts';
export { isLoopback, MetricsAddressError, parseMetricsAddress } from './metrics-address.ts';
export type { MetricsServer } from './metrics-server.ts';
export { MetricsServerError, startMetricsServer } from './metrics-server.ts';
export type { NodeStage } from './node-stages.ts';
export { NODE_STAGES, nodeStageOf } from './node-stages.ts';
export type { RunMetricsOptions } from './run-metrics.ts';
export { RunMetrics } from './run-metrics.ts';

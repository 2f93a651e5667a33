export type { GettableSilence, PostableSilence } from './alertmanager-client.ts';
export { AlertmanagerClient, AlertmanagerError } from './alertmanager-client.ts';
export type { LoopbackDaemon, LoopbackDaemonOptions } from './loopback-daemon.ts';
export { freeLoopbackPort, startLoopbackDaemon } from './loopback-daemon.ts';
export type { NotifyEndpoint, RunNotice } from './notifications.ts';
export { Notifier, slackPayload, webhookPayload } from './notifications.ts';
export type {
  AlertmanagerSettings,
  AlertsPolicy,
  NotifyKind,
  NotifyOn,
  NotifyTarget,
  SilencePolicy,
} from './observe-policy.ts';
export { NOTIFY_KINDS, NOTIFY_ON, validateAlerts } from './observe-policy.ts';
export type { PrometheusProcess, PrometheusProcessOptions, ScrapeTarget } from './prometheus-process.ts';
export { PROMETHEUS_BINARY, scrapeTargetOf, startPrometheus } from './prometheus-process.ts';
export type { RunObserver, RunObserverOptions } from './run-observer.ts';
export { observeRun } from './run-observer.ts';
export type { AlertmanagerMatcher } from './silence-matchers.ts';
export { DEFAULT_NODE_MATCHER_SETS, DEFAULT_SILENCED_ALERTS, parseMatcher } from './silence-matchers.ts';
export type { StepSilencerOptions } from './silences.ts';
export { BlanketSilenceError, SILENCE_CREATED_BY, StepSilencer } from './silences.ts';

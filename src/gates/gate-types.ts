/**
 * The shapes gates are made of: a gate's spec as the policy declares it (defaults filled in), one
 * evaluation, the decision the run acts on, and the monitor that produces them. Pure types and constants:
 * the plan layer imports this file (and gate-policy.ts) and nothing else of src/gates.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../core/index.ts';

export type GateVerdict = 'success' | 'failure' | 'inconclusive';

export interface GateEvaluation {
  gate: string;
  /** Clock time of the measurement (ms since the epoch). */
  time: number;
  /** What was asked: the PromQL, URL, command or kube built-in, placeholders filled in. */
  query: string;
  /** The measured number; absent when the query failed or returned nothing. */
  value?: number;
  baseline?: number;
  verdict: GateVerdict;
  /** Why there is no value (the query failed, returned nothing, several series, …). */
  error?: string;
}

export type GateDecision =
  | { action: 'continue' }
  | { action: 'pause' | 'rollback'; gate: string; reason: string };

export interface GateMonitor {
  /** Records each gate's baseline over its window before the first node is touched (skips gates whose baseline is given). */
  baseline(known: Record<string, number>): Promise<Record<string, number>>;
  /** Evaluates every gate whose interval has come (on the injected clock) and says what the run must do now. */
  check(): Promise<GateDecision>;
}

export interface GateMonitorDeps {
  clock: Clock;
  kc: KubeConfig;
  /** Called for every evaluation, in order (the engine stores and shows them). */
  onEvaluation?: (e: GateEvaluation) => void;
  /** In-flight nodes, excluded by the node-readiness template (M2). */
  nodesInFlight?: () => string[];
  /**
   * When (run clock, ms) each node last left the flight. A prometheus gate's `{nodesInFlight}` keeps such a
   * node for PROMETHEUS_LAG_MS more: Prometheus still answers with the samples it scraped while the node was
   * out of service (its last NotReady), and the node would fail M2 the moment it came back.
   */
  nodesLeftFlight?: () => ReadonlyMap<string, number>;
  /** This run's id: M3 (unplanned disruption) leaves out evictions labelled with it. */
  runId: string;
  /** Where prometheus gates send their queries; required when a gate's provider is prometheus. */
  prometheus?: PrometheusSettings;
  /** Where command gates write their output files (default: a fresh temporary directory). */
  workDir?: string;
}

export const GATE_PROVIDERS = ['kube', 'prometheus', 'http', 'command'] as const;
export type GateProviderKind = (typeof GATE_PROVIDERS)[number];

export const GATE_ACTIONS = ['pause', 'rollback'] as const;
export type GateAction = (typeof GATE_ACTIONS)[number];

/** What the `kube` provider can measure itself, each a ratio between 0 and 1. */
export const KUBE_QUERIES = ['api-availability', 'node-readiness', 'unplanned-disruption'] as const;
export type KubeQuery = (typeof KUBE_QUERIES)[number];

export const GATE_TEMPLATES = ['M1', 'M2', 'M3', 'M4', 'M5', 'M6', 'M7', 'burn-rate'] as const;
export type GateTemplateName = (typeof GATE_TEMPLATES)[number];

/** One pair of the SRE workbook's multi-window alerts: both windows must burn too fast. */
export interface BurnWindowPair {
  long: string;
  short: string;
}

export interface BurnRateSpec {
  /** The SLO target as a ratio, e.g. 0.999. */
  objective: number;
  /** The SLO's period, e.g. "30d": the default window pairs are fractions of it. */
  sloWindow: string;
  /** The burn rate (times the rate that spends the budget exactly over sloWindow) that fails the gate. */
  threshold: number;
  windows: BurnWindowPair[];
}

/**
 * One gate, as validateGates returns it: every default filled in, a template expanded into the fields it
 * stands for (so a plan carries exactly what will be measured), and valid input for validateGates again.
 */
export interface GateSpec {
  name: string;
  provider: GateProviderKind;
  /**
   * prometheus: PromQL that returns one number; http: a URL; command: a /bin/sh script; kube: one of
   * KUBE_QUERIES. `{runId}` and `{nodesInFlight}` (a regex alternation of the in-flight nodes' names) are
   * filled in before each query; burn-rate gates put `{window}` where the error ratio's range goes.
   */
  query: string;
  /** http and command: the JSON field holding the number ("status.ratio", "nodes[0].up"); absent: the whole answer is a number. */
  field?: string;
  /** A condition on `result` (and `baseline`) that makes a measurement a success. */
  success?: string;
  /** A condition that makes a measurement a failure; checked before `success`. */
  failure?: string;
  interval: string;
  /** How many measurements in all; absent: as long as the run goes on. */
  count?: number;
  /** Failed measurements tolerated; one more triggers onFailure. */
  failureLimit: number;
  /** Inconclusive measurements tolerated; one more triggers onInconclusive. */
  inconclusiveLimit: number;
  onFailure: GateAction;
  onInconclusive: GateAction;
  /** How long one measurement may take before it counts as failed. */
  timeout: string;
  /** The window a baseline is taken over (prometheus: averaged over it; other providers measure once). */
  baselineWindow: string;
  /** The template the gate came from, kept so status can say "M5". */
  template?: GateTemplateName;
  /** The template's arguments as given. */
  args?: Record<string, string | number>;
  burnRate?: BurnRateSpec;
  /** http gates: headers to send and how to trust the server. */
  http?: HttpGateSettings;
}

/**
 * Where an http gate's header value comes from: written in the policy (never a credential: a plan copies
 * its policy), read from a file before each request (a rotated secret is picked up), or taken from an
 * environment variable of the midflight process.
 */
export type HeaderSource = { value: string } | { file: string } | { env: string };

/** `http:` of an http gate. */
export interface HttpGateSettings {
  /** Header name → where its value comes from. */
  headers?: Record<string, HeaderSource>;
  /** PEM file of the CA that signed the server's certificate. */
  caFile?: string;
  /** Accept any certificate (a test server); never in production. */
  insecureSkipVerify?: boolean;
}

/** `policy.prometheus`: how to reach a server speaking Prometheus' HTTP query API (Thanos, Mimir, VictoriaMetrics too). */
export interface PrometheusSettings {
  /** Base URL; queries go to `<url>/api/v1/query`. */
  url: string;
  /** A file holding a bearer token, read before each query (so a rotated token is picked up). */
  bearerTokenFile?: string;
  basicAuth?: { username: string; passwordFile: string };
  /** PEM file of the CA that signed the server's certificate. */
  caFile?: string;
  /** Accept any certificate (a test server); never in production. */
  insecureSkipVerify?: boolean;
}

/** One thing wrong in the `gates` or `prometheus` part of a policy. */
export interface GateFieldError {
  /** Dotted path, e.g. "gates[2].failureLimit". */
  field: string;
  message: string;
}

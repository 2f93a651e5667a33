/**
 * The Prometheus rules `midflight observability export` writes: alerts for the time a Midflight run is
 * under way, split by who must act. `severity: page` wakes someone (the API server down, etcd without a
 * leader, many nodes not coming back, a critical service's errors at 3× its recent level); `severity:
 * ticket` can wait for working hours (a slow drain, a gate that cannot decide, one node flapping).
 *
 * Every alert carries the `run_id` of the run in progress, so Alertmanager groups them by run
 * (`group_by: [run_id, …]`) and Midflight's own silences and notifications, tagged with it, line up. The
 * cluster's alerts take it from `midflight_run_state`: they fire only while a run is running, and assume
 * one run per Prometheus at a time (one run per cluster is what the cluster's Lease enforces).
 */
import { NOT_READY_NODES, SERIES, serviceErrorRatio } from './cluster-series.ts';

export interface AlertRulesOptions {
  /** Where the runbooks are: each alert links to `BASE#runbook-<alert name in lower case>`. */
  runbookBase: string;
  /** A regular expression over the `service` label naming the services whose errors page. Default `.+`. */
  criticalServices?: string;
  /** The Prometheus job that scrapes the API servers (`up{job=…}`). Default `apiserver`. */
  apiserverJob?: string;
}

export type Severity = 'page' | 'ticket';

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: Severity };
  annotations: { summary: string; description: string; runbook_url: string };
}

export interface RecordingRule {
  record: string;
  expr: string;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Array<AlertRule | RecordingRule>;
}

/** The run in progress, as one series `{run_id}` with the value 1, for joining onto the cluster's alerts. */
const RUNNING = 'group by (run_id) (midflight_run_state{state="running"} == 1)';

/** Gives a cluster-wide alert the `run_id` of the run in progress (and nothing when none is). */
function duringRun(expr: string): string {
  return `(${expr})\n  * on () group_left (run_id) ${RUNNING}`;
}

export const ERROR_RATIO_5M = 'midflight:service_error_ratio:rate5m';
export const ERROR_RATIO_BEFORE = 'midflight:service_error_ratio:rate1h_before';

/** Drains slower than this (clock seconds) open a ticket. */
export const SLOW_DRAIN_SECONDS = 15 * 60;

export function buildAlertRules(options: AlertRulesOptions): { groups: RuleGroup[] } {
  const critical = options.criticalServices ?? '.+';
  const job = options.apiserverJob ?? 'apiserver';
  const rule = (
    severity: Severity,
    alert: string,
    expr: string,
    forDuration: string | undefined,
    summary: string,
    description: string,
  ): AlertRule => ({
    alert,
    expr,
    ...(forDuration ? { for: forDuration } : {}),
    labels: { severity },
    annotations: {
      summary,
      description,
      runbook_url: `${options.runbookBase}#runbook-${alert.toLowerCase()}`,
    },
  });
  return {
    groups: [
      {
        name: 'midflight-recording',
        rules: [
          { record: ERROR_RATIO_5M, expr: serviceErrorRatio('5m', critical) },
          // The level to compare with: the hour before the last 5 minutes, so a burst is measured against
          // what came before it (and, an hour on, becomes the level itself).
          { record: ERROR_RATIO_BEFORE, expr: serviceErrorRatio('1h', critical, '5m') },
        ],
      },
      {
        name: 'midflight-page',
        rules: [
          rule(
            'page',
            'MidflightAPIServerDown',
            duringRun(`absent(up{job="${job}"} == 1)`),
            '2m',
            'The API server is down during Midflight run {{ $labels.run_id }}',
            `No target of job ${job} (the API servers) answers Prometheus's scrape. The run cannot read or change the cluster, and workloads cannot be scheduled.`,
          ),
          rule(
            'page',
            'MidflightEtcdUnavailable',
            duringRun(`min(${SERIES.etcdHasLeader}) == 0 or absent(${SERIES.etcdHasLeader})`),
            '1m',
            'etcd has no leader during Midflight run {{ $labels.run_id }}',
            'An etcd member sees no leader (or none reports): the cluster cannot store changes.',
          ),
          rule(
            'page',
            'MidflightNodesNotRejoining',
            `${duringRun(
              `count(${NOT_READY_NODES}) > clamp_min(0.1 * count(${SERIES.nodeCondition}{condition="Ready",status="true"}), 2)`,
            )}\nor sum by (run_id) (midflight_nodes{state=~"failed|quarantined"}) >= 2`,
            '10m',
            'Many nodes are not coming back during Midflight run {{ $labels.run_id }}',
            'More than 10 % of the nodes (at least 3) are not Ready, or the run has failed or quarantined 2 nodes or more: upgraded nodes do not rejoin the cluster.',
          ),
          rule(
            'page',
            'MidflightCriticalServiceErrors',
            duringRun(`${ERROR_RATIO_5M} > 3 * clamp_min(${ERROR_RATIO_BEFORE}, 0.001)`),
            '5m',
            'Service {{ $labels.namespace }}/{{ $labels.service }} answers 3× its usual errors during Midflight run {{ $labels.run_id }}',
            'The share of 5xx answers over 5 minutes is more than 3 times that of the hour before (M5, page level); pause the run (`midflight pause RUN`) or roll the wave back (`midflight rollback RUN`).',
          ),
        ],
      },
      {
        name: 'midflight-ticket',
        rules: [
          rule(
            'ticket',
            'MidflightSlowDrain',
            `max by (run_id, node) (midflight_node_drain_seconds) > ${SLOW_DRAIN_SECONDS}`,
            undefined,
            'Node {{ $labels.node }} has been draining for {{ $value | humanizeDuration }} in run {{ $labels.run_id }}',
            'A drain takes longer than 15 minutes: a disruption budget or a pod that does not terminate holds it (`midflight status RUN` names them).',
          ),
          rule(
            'ticket',
            'MidflightGateInconclusive',
            'sum by (run_id, gate) (increase(midflight_gate_evaluations_total{verdict="inconclusive"}[10m])) > 0',
            undefined,
            'Gate {{ $labels.gate }} could not decide in run {{ $labels.run_id }}',
            'The gate’s query failed or returned nothing; the run counts that against the gate and pauses when its inconclusive limit is reached.',
          ),
          rule(
            'ticket',
            'MidflightNodeCrashLooping',
            duringRun(`changes(${SERIES.nodeCondition}{condition="Ready",status="true"}[15m]) > 2`),
            '5m',
            'Node {{ $labels.node }} keeps going NotReady during Midflight run {{ $labels.run_id }}',
            'The node’s Ready condition changed more than twice in 15 minutes: its kubelet or runtime restarts over and over.',
          ),
        ],
      },
    ],
  };
}

/**
 * The three Grafana dashboards `midflight observability export` writes, one per audience:
 * - executive: how far the upgrades are across clusters, the SLO and its error budget, the critical services;
 * - on-call: the API server's errors and latency, node readiness and drains, recent evictions, the services
 *   answering the most errors;
 * - debug: etcd, the pod network and volumes, each node's path through its upgrade, restarts and evictions.
 *
 * Every Midflight query filters on `$run_id` (all runs by default); the cluster's series come from
 * cluster-series.ts.
 */
import { CNI_PODS, NOT_READY_NODES, SERIES, serviceErrorRatio } from './cluster-series.ts';
import { type DashboardSpec, type PanelSpec, renderDashboard, type Variable } from './grafana-json.ts';
import { NODE_STAGES, type NodeStage, nodeStageValue } from './node-stages.ts';

const RUN = 'run_id=~"$run_id"';

/**
 * One `midflight_run_info` series per run: each process that executed it (apply, then resume) served its
 * own, with its own `instance`, and a join needs one.
 */
const RUN_INFO = `max by (run_id, cluster, source, target, mode) (midflight_run_info{${RUN}})`;

const RUN_ID_VARIABLE: Variable = {
  name: 'run_id',
  label: 'Run',
  description: 'Midflight run ids (`midflight history`); All shows every run Prometheus holds.',
  query: 'label_values(midflight_run_info, run_id)',
};

const CRITICAL_SERVICES_VARIABLE: Variable = {
  name: 'critical_services',
  label: 'Critical services',
  description: 'A regular expression over the `service` label: the services whose errors page.',
  textbox: '.*',
};

const SLO_VARIABLE: Variable = {
  name: 'slo',
  label: 'SLO target',
  description: 'The success ratio the services promise (0.999 is 99.9 %).',
  textbox: '0.999',
};

const STAGE_COLORS: Record<NodeStage, string> = {
  pending: 'text',
  admitted: 'blue',
  cordon: 'purple',
  drain: 'orange',
  upgrade: 'yellow',
  verify: 'light-blue',
  uncordon: 'purple',
  done: 'green',
  skipped: 'semi-dark-orange',
  quarantined: 'dark-red',
  failed: 'red',
};

const STAGE_TEXT = Object.fromEntries(
  NODE_STAGES.map((stage) => [nodeStageValue(stage), { text: stage, color: STAGE_COLORS[stage] }]),
);

const RUN_STATE_PANEL: PanelSpec = {
  type: 'table',
  title: 'Runs and their state',
  description: 'Each run: its cluster, versions and current state.',
  targets: [
    {
      expr: `(midflight_run_state{${RUN}} == 1) * on (run_id) group_left (cluster, source, target, mode) ${RUN_INFO}`,
      instant: true,
    },
  ],
  width: 24,
  height: 6,
};

const SERVICE_ERROR_RATIO = `sum(rate(${SERIES.serviceRequests}{code=~"5.."}[$__rate_interval])) / sum(rate(${SERIES.serviceRequests}[$__rate_interval]))`;

function executive(): DashboardSpec {
  const withCluster = (expr: string) =>
    `max by (cluster) (${expr} * on (run_id) group_left (cluster) ${RUN_INFO})`;
  return {
    uid: 'midflight-executive',
    title: 'Midflight / Executive',
    description:
      'How far the upgrades are across clusters, the SLO and its error budget, the critical services.',
    variables: [RUN_ID_VARIABLE, SLO_VARIABLE, CRITICAL_SERVICES_VARIABLE],
    rows: [
      {
        title: 'Progress',
        panels: [
          {
            type: 'bargauge',
            title: 'Nodes upgraded, by cluster',
            description: "Share of each cluster's planned nodes the run has upgraded.",
            targets: [
              {
                expr: `${withCluster(`sum by (run_id) (midflight_nodes{${RUN},state="done"})`)}\n  / ${withCluster(`midflight_nodes_planned{${RUN}}`)}`,
                legend: '{{cluster}}',
                instant: true,
              },
            ],
            unit: 'percentunit',
            min: 0,
            max: 1,
            width: 12,
          },
          {
            type: 'stat',
            title: 'Nodes set aside or failed',
            description: 'Nodes skipped, quarantined or failed: each needs a person.',
            targets: [
              { expr: `sum(midflight_nodes{${RUN},state=~"skipped|quarantined|failed"}) or vector(0)` },
            ],
            thresholds: [
              { value: null, color: 'green' },
              { value: 1, color: 'red' },
            ],
            width: 6,
          },
          {
            type: 'stat',
            title: 'Phases finished',
            description: 'Phases finished against the phases planned, over the selected runs.',
            targets: [
              {
                expr: `sum(midflight_phases_finished_total{${RUN}}) / sum(midflight_phases_planned{${RUN}})`,
              },
            ],
            unit: 'percentunit',
            width: 6,
          },
          RUN_STATE_PANEL,
        ],
      },
      {
        title: 'SLO and error budget',
        panels: [
          {
            type: 'timeseries',
            title: 'Service success ratio against the SLO',
            description: 'Share of requests answered without a 5xx, all services, against $slo.',
            targets: [
              { expr: `1 - (${SERVICE_ERROR_RATIO})`, legend: 'success ratio' },
              { expr: 'vector($slo)', legend: 'SLO' },
            ],
            unit: 'percentunit',
          },
          {
            type: 'timeseries',
            title: 'Error budget burn rate (1 h)',
            description:
              'How fast the error budget burns: 1 spends it exactly over the SLO window; above 2 halts a run with a burn-rate gate.',
            targets: [
              {
                expr: `(sum(rate(${SERIES.serviceRequests}{code=~"5.."}[1h])) / sum(rate(${SERIES.serviceRequests}[1h]))) / (1 - $slo)`,
                legend: 'burn rate',
              },
            ],
            thresholds: [
              { value: null, color: 'green' },
              { value: 2, color: 'red' },
            ],
          },
          {
            type: 'stat',
            title: 'Error budget left over the range',
            description: 'The share of the error budget of the selected time range not yet spent.',
            targets: [
              {
                expr: `1 - (sum(increase(${SERIES.serviceRequests}{code=~"5.."}[$__range])) / sum(increase(${SERIES.serviceRequests}[$__range]))) / (1 - $slo)`,
              },
            ],
            unit: 'percentunit',
            thresholds: [
              { value: null, color: 'red' },
              { value: 0.25, color: 'orange' },
              { value: 0.5, color: 'green' },
            ],
            width: 6,
          },
          {
            type: 'stat',
            title: 'API availability',
            description: "The API server's share of non-5xx answers over the range (M1).",
            targets: [
              {
                expr: `1 - sum(increase(${SERIES.apiRequests}{code=~"5.."}[$__range])) / sum(increase(${SERIES.apiRequests}[$__range]))`,
              },
            ],
            unit: 'percentunit',
            width: 6,
          },
        ],
      },
      {
        title: 'Critical services',
        panels: [
          {
            type: 'timeseries',
            title: 'Critical services: 5xx ratio',
            description: 'Each critical service’s share of 5xx answers (M5).',
            targets: [
              {
                expr: serviceErrorRatio('$__rate_interval', '$critical_services'),
                legend: '{{namespace}}/{{service}}',
              },
            ],
            unit: 'percentunit',
          },
          {
            type: 'timeseries',
            title: 'Critical services: latency p95',
            description: 'Each critical service’s 95th percentile latency (M4).',
            targets: [
              {
                expr: `histogram_quantile(0.95, sum by (le, namespace, service) (rate(${SERIES.serviceLatency}{service=~"$critical_services"}[$__rate_interval])))`,
                legend: '{{namespace}}/{{service}}',
              },
            ],
            unit: 's',
          },
          {
            type: 'timeseries',
            title: 'Gate verdicts',
            description: "The run's gate evaluations by verdict.",
            targets: [
              {
                expr: `sum by (verdict) (increase(midflight_gate_evaluations_total{${RUN}}[$__rate_interval]))`,
                legend: '{{verdict}}',
              },
            ],
            stacking: true,
            width: 24,
          },
        ],
      },
    ],
    annotations: [PHASE_ANNOTATION],
  };
}

const PHASE_ANNOTATION = {
  name: 'Midflight phases',
  expr: `changes(midflight_run_phase{${RUN}}[2m]) > 0`,
  title: 'phase {{name}}',
  text: 'run {{run_id}}: phase {{phase}} ({{kind}})',
};

function onCall(): DashboardSpec {
  return {
    uid: 'midflight-on-call',
    title: 'Midflight / On-call',
    description:
      'The API server, node readiness and drains, recent evictions and the services answering the most errors.',
    variables: [RUN_ID_VARIABLE],
    rows: [
      {
        title: 'API server',
        panels: [
          {
            type: 'timeseries',
            title: 'API error rate',
            description:
              'Share of API requests answered 5xx, by code; 429 (a disruption budget refusing an eviction) shown apart.',
            targets: [
              {
                expr: `sum by (code) (rate(${SERIES.apiRequests}{code=~"5.."}[$__rate_interval])) / scalar(sum(rate(${SERIES.apiRequests}[$__rate_interval])))`,
                legend: '{{code}}',
              },
              {
                expr: `sum(rate(${SERIES.apiRequests}{code="429"}[$__rate_interval])) / sum(rate(${SERIES.apiRequests}[$__rate_interval]))`,
                legend: '429',
              },
            ],
            unit: 'percentunit',
          },
          {
            type: 'timeseries',
            title: 'API latency p99 by verb',
            description: 'Long-running requests (WATCH, CONNECT) left out.',
            targets: [
              {
                expr: `histogram_quantile(0.99, sum by (le, verb) (rate(${SERIES.apiLatency}{verb!~"WATCH|CONNECT"}[$__rate_interval])))`,
                legend: '{{verb}}',
              },
            ],
            unit: 's',
          },
        ],
      },
      {
        title: 'Nodes and drains',
        panels: [
          {
            type: 'timeseries',
            title: 'Nodes not Ready',
            description:
              'Nodes whose Ready condition is not True (M2); during a run the nodes in flight are among them for a while.',
            targets: [
              { expr: `count(${NOT_READY_NODES}) or vector(0)`, legend: 'not Ready' },
              { expr: `count(${SERIES.nodeCondition}{condition="Ready",status="true"})`, legend: 'nodes' },
            ],
          },
          {
            type: 'timeseries',
            title: "The run's nodes by stage",
            description:
              'How many nodes are pending, in flight (cordon, drain, upgrade, verify, uncordon), done or set aside.',
            targets: [{ expr: `sum by (state) (midflight_nodes{${RUN}})`, legend: '{{state}}' }],
            stacking: true,
          },
          {
            type: 'table',
            title: 'Drains in progress',
            description: 'Nodes draining now and for how long (clock seconds).',
            targets: [{ expr: `midflight_node_drain_seconds{${RUN}}`, instant: true }],
            unit: 's',
          },
          {
            type: 'timeseries',
            title: 'Pods held by disruption budgets',
            description: 'Pods a budget refuses to let go now, by budget.',
            targets: [
              { expr: `sum by (budget) (midflight_budget_blocked_pods{${RUN}})`, legend: '{{budget}}' },
            ],
          },
        ],
      },
      {
        title: 'Evictions and services',
        panels: [
          {
            type: 'timeseries',
            title: 'Recent evictions',
            description:
              "Pods the run's drains evicted (by node) and the cluster's eviction answers (by result).",
            targets: [
              {
                expr: `sum by (node) (increase(midflight_evictions_total{${RUN}}[10m]))`,
                legend: '{{node}}',
              },
              {
                // Every eviction the API server answered, whoever asked: 201 let go, 429 refused by a budget.
                expr: `sum by (code) (increase(${SERIES.apiRequests}{resource="pods",subresource="eviction"}[10m]))`,
                legend: 'cluster: HTTP {{code}}',
              },
            ],
          },
          {
            type: 'table',
            title: 'Top 10 services by error rate',
            description: 'The services with the highest share of 5xx answers over the last 5 minutes.',
            targets: [{ expr: `topk(10, ${serviceErrorRatio('5m', '.*')})`, instant: true }],
            unit: 'percentunit',
          },
        ],
      },
    ],
    annotations: [PHASE_ANNOTATION],
  };
}

function debug(): DashboardSpec {
  return {
    uid: 'midflight-debug',
    title: 'Midflight / Debug',
    description:
      "etcd, the pod network and volumes, each node's path through its upgrade, restarts and evictions.",
    variables: [RUN_ID_VARIABLE],
    rows: [
      {
        title: 'etcd',
        panels: [
          {
            type: 'timeseries',
            title: 'etcd commit latency p99',
            description: 'Backend commit latency per member (M6: below 200 ms).',
            targets: [
              {
                expr: `histogram_quantile(0.99, sum by (le, instance) (rate(${SERIES.etcdCommit}[$__rate_interval])))`,
                legend: '{{instance}}',
              },
            ],
            unit: 's',
            thresholds: [
              { value: null, color: 'green' },
              { value: 0.2, color: 'red' },
            ],
          },
          {
            type: 'stat',
            title: 'etcd has a leader',
            description: '1 when the member sees a leader; 0 means etcd cannot commit.',
            targets: [{ expr: `min(${SERIES.etcdHasLeader})` }],
            valueText: { 0: { text: 'no leader', color: 'red' }, 1: { text: 'leader', color: 'green' } },
            width: 12,
          },
        ],
      },
      {
        title: 'Pod network and volumes',
        panels: [
          {
            type: 'timeseries',
            title: 'CNI and kube-proxy pods not ready',
            description: 'Pod network agents (kube-system) that are not Ready, by pod.',
            targets: [
              {
                expr: `sum by (pod) (${SERIES.podReady}{namespace="kube-system",pod=~"${CNI_PODS}",condition="true"} == 0)`,
                legend: '{{pod}}',
              },
            ],
          },
          {
            type: 'timeseries',
            title: 'Volume operations failing (CSI)',
            description: 'Volume attach, mount and other operations that did not succeed, by operation (M7).',
            targets: [
              {
                expr: `sum by (operation_name, status) (rate(${SERIES.storageOps}{status!="success"}[$__rate_interval]))`,
                legend: '{{operation_name}} {{status}}',
              },
            ],
          },
          {
            type: 'timeseries',
            title: 'Volume operation latency p99',
            description: 'By operation.',
            targets: [
              {
                expr: `histogram_quantile(0.99, sum by (le, operation_name) (rate(${SERIES.storageOpsLatency}[$__rate_interval])))`,
                legend: '{{operation_name}}',
              },
            ],
            unit: 's',
            width: 24,
          },
        ],
      },
      {
        title: 'Nodes',
        panels: [
          {
            type: 'state-timeline',
            title: 'Per-node timeline',
            description:
              'Each node’s stage through the run: pending, admitted, cordon, drain, upgrade, verify, uncordon, done (or set aside).',
            targets: [{ expr: `max by (node) (midflight_node_stage{${RUN}})`, legend: '{{node}}' }],
            valueText: STAGE_TEXT,
            width: 24,
            height: 12,
          },
          {
            type: 'timeseries',
            title: 'Stage durations p90',
            description: 'How long nodes spend in each stage (clock seconds).',
            targets: [
              {
                expr: `histogram_quantile(0.9, sum by (le, stage) (rate(midflight_node_stage_duration_seconds_bucket{${RUN}}[$__rate_interval])))`,
                legend: '{{stage}}',
              },
            ],
            unit: 's',
          },
          {
            type: 'timeseries',
            title: 'Node Ready flaps',
            description:
              'How often each node’s Ready condition changed over 15 minutes: a kubelet that keeps restarting.',
            targets: [
              {
                expr: `changes(${SERIES.nodeCondition}{condition="Ready",status="true"}[15m]) > 0`,
                legend: '{{node}}',
              },
            ],
          },
        ],
      },
      {
        title: 'Restarts and evictions',
        panels: [
          {
            type: 'timeseries',
            title: 'Container restarts',
            description: 'Restarts over 10 minutes, by pod.',
            targets: [
              {
                expr: `sum by (namespace, pod) (increase(${SERIES.containerRestarts}[10m])) > 0`,
                legend: '{{namespace}}/{{pod}}',
              },
            ],
          },
          {
            type: 'timeseries',
            title: 'Evictions refused by budgets',
            description:
              'Evictions a disruption budget held back (refused, or kept waiting by the budget watch), by budget; and the time each budget held drains.',
            targets: [
              {
                expr: `sum by (budget) (increase(midflight_eviction_retries_total{${RUN}}[$__rate_interval]))`,
                legend: 'refused: {{budget}}',
              },
              {
                expr: `sum by (budget) (midflight_budget_blocked_seconds_total{${RUN}})`,
                legend: 'held s: {{budget}}',
              },
            ],
          },
          {
            type: 'timeseries',
            title: 'Evictions by node',
            description: "Pods the run's drains evicted, cumulative, by node.",
            targets: [{ expr: `sum by (node) (midflight_evictions_total{${RUN}})`, legend: '{{node}}' }],
          },
          {
            type: 'timeseries',
            title: 'Gate values and baselines',
            description: "Each gate's last value and its baseline.",
            targets: [
              { expr: `midflight_gate_value{${RUN}}`, legend: '{{gate}}' },
              { expr: `midflight_gate_baseline{${RUN}}`, legend: '{{gate}} baseline' },
            ],
          },
          {
            type: 'timeseries',
            title: 'Step durations p90',
            description: 'By kind of step.',
            targets: [
              {
                expr: `histogram_quantile(0.9, sum by (le, kind) (rate(midflight_step_duration_seconds_bucket{${RUN}}[$__range])))`,
                legend: '{{kind}}',
              },
            ],
            unit: 's',
            width: 24,
          },
        ],
      },
    ],
    annotations: [PHASE_ANNOTATION],
  };
}

/** The dashboards, by the file name each is written to. */
export function buildDashboards(): Record<string, Record<string, unknown>> {
  return {
    'midflight-executive.json': renderDashboard(executive()),
    'midflight-on-call.json': renderDashboard(onCall()),
    'midflight-debug.json': renderDashboard(debug()),
  };
}

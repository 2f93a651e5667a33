/**
 * The exported alerting rules do what docs/gates.md says, proved by the real promtool's rule unit tests
 * (`promtool test rules`): each alert fires on the series that should page or open a ticket, at its
 * severity, with the run's id and its runbook; the cluster's alerts stay quiet when no run is running;
 * a service that is not critical does not page.
 *
 * promtool (Debian's `prometheus` package): skipped with a message when missing, a failure under CI.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runCli } from '../cli/run-cli.ts';
import { requireBinary } from '../e2e/loopback-binary.ts';

const PROMTOOL = '/usr/bin/promtool';

const run = promisify(execFile);

const RUNNING = { series: 'midflight_run_state{run_id="r1",state="running"}', values: '1x120' };
const NOT_RUNNING = { series: 'midflight_run_state{run_id="r1",state="running"}', values: '0x120' };

interface Case {
  name: string;
  input: Array<{ series: string; values: string }>;
  alert: string;
  at: string;
  /** The labels of each alert expected to fire (none: the alert must stay quiet). */
  fires: Array<Record<string, string>>;
  /** What `{{ $value | humanizeDuration }}` renders, for the alert that uses it. */
  value?: string;
}

const CASES: Case[] = [
  {
    name: 'the API server down pages, with the run id',
    input: [RUNNING, { series: 'up{job="apiserver",instance="a:6443"}', values: '0x10' }],
    alert: 'MidflightAPIServerDown',
    at: '5m',
    fires: [{ run_id: 'r1', severity: 'page' }],
  },
  {
    name: 'one API server of two down does not page',
    input: [
      RUNNING,
      { series: 'up{job="apiserver",instance="a:6443"}', values: '0x10' },
      { series: 'up{job="apiserver",instance="b:6443"}', values: '1x10' },
    ],
    alert: 'MidflightAPIServerDown',
    at: '5m',
    fires: [],
  },
  {
    name: 'the API server down outside a run is left to the cluster’s own alerts',
    input: [NOT_RUNNING, { series: 'up{job="apiserver",instance="a:6443"}', values: '0x10' }],
    alert: 'MidflightAPIServerDown',
    at: '5m',
    fires: [],
  },
  {
    name: 'etcd without a leader pages',
    input: [
      RUNNING,
      { series: 'etcd_server_has_leader{instance="etcd-0"}', values: '1x10' },
      { series: 'etcd_server_has_leader{instance="etcd-1"}', values: '0x10' },
    ],
    alert: 'MidflightEtcdUnavailable',
    at: '5m',
    fires: [{ run_id: 'r1', severity: 'page' }],
  },
  {
    name: '4 of 10 nodes not Ready for 10 minutes pages',
    input: [
      RUNNING,
      ...Array.from({ length: 10 }, (_, i) => ({
        series: `kube_node_status_condition{node="n${i}",condition="Ready",status="true"}`,
        values: i < 4 ? '0x20' : '1x20',
      })),
    ],
    alert: 'MidflightNodesNotRejoining',
    at: '15m',
    fires: [{ run_id: 'r1', severity: 'page' }],
  },
  {
    name: '2 of 10 nodes not Ready (the nodes in flight) does not',
    input: [
      RUNNING,
      ...Array.from({ length: 10 }, (_, i) => ({
        series: `kube_node_status_condition{node="n${i}",condition="Ready",status="true"}`,
        values: i < 2 ? '0x20' : '1x20',
      })),
    ],
    alert: 'MidflightNodesNotRejoining',
    at: '15m',
    fires: [],
  },
  {
    name: "the run's own failed and quarantined nodes page",
    input: [
      { series: 'midflight_nodes{run_id="r1",state="failed"}', values: '1x20' },
      { series: 'midflight_nodes{run_id="r1",state="quarantined"}', values: '1x20' },
    ],
    alert: 'MidflightNodesNotRejoining',
    at: '15m',
    fires: [{ run_id: 'r1', severity: 'page' }],
  },
  {
    name: "a critical service's errors at 3× the hour before page; another service's do not",
    input: [
      RUNNING,
      // 1 % errors for 70 minutes, then about 9 %.
      { series: 'http_requests_total{namespace="shop",service="checkout",code="200"}', values: '0+990x100' },
      {
        series: 'http_requests_total{namespace="shop",service="checkout",code="500"}',
        values: '0+10x70 800+100x30',
      },
      { series: 'http_requests_total{namespace="shop",service="search",code="200"}', values: '0+990x100' },
      {
        series: 'http_requests_total{namespace="shop",service="search",code="500"}',
        values: '0+10x70 800+100x30',
      },
    ],
    alert: 'MidflightCriticalServiceErrors',
    at: '85m',
    fires: [{ namespace: 'shop', service: 'checkout', run_id: 'r1', severity: 'page' }],
  },
  {
    name: 'a steady error level does not page',
    input: [
      RUNNING,
      { series: 'http_requests_total{namespace="shop",service="checkout",code="200"}', values: '0+990x100' },
      { series: 'http_requests_total{namespace="shop",service="checkout",code="500"}', values: '0+10x100' },
    ],
    alert: 'MidflightCriticalServiceErrors',
    at: '85m',
    fires: [],
  },
  {
    name: 'a drain of more than 15 minutes opens a ticket',
    input: [
      { series: 'midflight_node_drain_seconds{run_id="r1",node="w1"}', values: '1000x5' },
      { series: 'midflight_node_drain_seconds{run_id="r1",node="w2"}', values: '300x5' },
    ],
    alert: 'MidflightSlowDrain',
    at: '2m',
    fires: [{ run_id: 'r1', node: 'w1', severity: 'ticket' }],
    value: '16m 40s',
  },
  {
    name: 'an inconclusive gate opens a ticket',
    input: [
      {
        series: 'midflight_gate_evaluations_total{run_id="r1",gate="M5",verdict="inconclusive"}',
        values: '0 0 1 1 1',
      },
      {
        series: 'midflight_gate_evaluations_total{run_id="r1",gate="M4",verdict="success"}',
        values: '0 1 2 3 4',
      },
    ],
    alert: 'MidflightGateInconclusive',
    at: '4m',
    fires: [{ run_id: 'r1', gate: 'M5', severity: 'ticket' }],
  },
  {
    name: 'one node flapping Ready opens a ticket',
    input: [
      RUNNING,
      {
        series: 'kube_node_status_condition{node="w2",condition="Ready",status="true"}',
        values: '1 0 1 0 1 0 1 0 1 0 1 0 1 0 1',
      },
      { series: 'kube_node_status_condition{node="w3",condition="Ready",status="true"}', values: '1x14' },
    ],
    alert: 'MidflightNodeCrashLooping',
    at: '12m',
    fires: [{ node: 'w2', condition: 'Ready', status: 'true', run_id: 'r1', severity: 'ticket' }],
  },
];

interface ExportedRule {
  alert?: string;
  annotations?: Record<string, string>;
}

describe.runIf(requireBinary('promtool', 'prometheus'))(
  'the exported alerting rules (promtool test rules)',
  () => {
    let dir: string;
    let rulesPath: string;
    let annotationsOf: Map<string, Record<string, string>>;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'midflight-rules-'));
      const { code, stderr } = await runCli(
        'observability',
        'export',
        '--out',
        dir,
        '--critical-services',
        'checkout|payments',
        '--runbook-base',
        'https://runbooks.example/midflight',
      );
      expect(stderr).toBe('');
      expect(code).toBe(0);
      rulesPath = join(dir, 'midflight-rules.yaml');
      const rules = parse(readFileSync(rulesPath, 'utf8')) as { groups: Array<{ rules: ExportedRule[] }> };
      annotationsOf = new Map(
        rules.groups.flatMap((g) =>
          g.rules.flatMap((r) => (r.alert ? [[r.alert, r.annotations ?? {}]] : [])),
        ),
      );
    });

    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each(CASES)('$name', async (c) => {
      const exp_alerts = c.fires.map((labels) => ({
        exp_labels: labels,
        exp_annotations: rendered(annotationsOf.get(c.alert)!, labels, c.value),
      }));
      const file = join(dir, `${c.alert}-${CASES.indexOf(c)}.test.yaml`);
      writeFileSync(
        file,
        stringify({
          rule_files: [rulesPath],
          evaluation_interval: '1m',
          tests: [
            {
              interval: '1m',
              input_series: c.input,
              alert_rule_test: [{ eval_time: c.at, alertname: c.alert, exp_alerts }],
            },
          ],
        }),
      );
      const result = await run(PROMTOOL, ['test', 'rules', file]).catch(
        (err: { stdout?: string; stderr?: string }) => ({ stdout: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
      );
      expect(result.stdout).toContain('SUCCESS');
    });
  },
);

/** The annotations as Prometheus renders them for an alert with these labels. */
function rendered(
  annotations: Record<string, string>,
  labels: Record<string, string>,
  value: string | undefined,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(annotations).map(([key, text]) => [
      key,
      text
        .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? '')
        .replace(/\{\{ \$value \| humanizeDuration \}\}/g, value ?? ''),
    ]),
  );
}

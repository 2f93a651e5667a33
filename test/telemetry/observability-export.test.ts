/**
 * `midflight observability export` as a user runs it: three Grafana dashboards Grafana can import and a
 * rules file the real promtool accepts (page and ticket alerts, each with a runbook); and every query in
 * them reads only series that exist: Midflight's own (its registry) or the sandbox cluster's (its
 * /metrics, read from a started sandbox).
 *
 * promtool (Debian's `prometheus` package): skipped with a message when missing, a failure under CI.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { RealClock } from '../../src/core/index.ts';
import { RunMetrics } from '../../src/telemetry/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { requireBinary } from '../e2e/loopback-binary.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { exposedNames, metricNamesOf, withGrafanaVariables } from './promql-names.ts';

const PROMTOOL = '/usr/bin/promtool';
const havePromtool = requireBinary('promtool', 'prometheus');

/** Series Prometheus writes itself for every target it scrapes. */
const PROMETHEUS_SERIES = new Set(['up']);

const run = promisify(execFile);

interface Dashboard {
  schemaVersion: number;
  uid: string;
  title: string;
  templating: { list: Array<{ name: string; type: string; query?: unknown; definition?: string }> };
  annotations: { list: Array<{ expr?: string }> };
  panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
}

interface Rules {
  groups: Array<{
    name: string;
    rules: Array<{
      alert?: string;
      record?: string;
      expr: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    }>;
  }>;
}

describe('metricNamesOf (the test helper that finds the names a query reads)', () => {
  it.each([
    [
      'sum by (le, verb) (rate(apiserver_request_duration_seconds_bucket{verb!~"WATCH|CONNECT"}[5m]))',
      ['apiserver_request_duration_seconds_bucket'],
    ],
    [
      '(a_total{x="b_total"} > 3 * clamp_min(rec:ratio:rate1h offset 5m, 0.001)) * on () group_left (run_id) group by (run_id) (c == 1)',
      ['a_total', 'rec:ratio:rate1h', 'c'],
    ],
    ['topk(10, sum without (pod) (increase(x[1h])) / scalar(vector(0.999)))', ['x']],
  ])('%s', (expr, names) => {
    expect([...metricNamesOf(expr)].sort()).toEqual(names.sort());
  });
});

describe('midflight observability export', () => {
  let dir: string;
  let dashboards: Record<string, Dashboard>;
  let rules: Rules;
  let rulesPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midflight-observability-'));
    const { code, stdout, stderr } = await runCli(
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
    dashboards = {};
    for (const name of ['midflight-executive.json', 'midflight-on-call.json', 'midflight-debug.json']) {
      expect(stdout).toContain(join(dir, name));
      dashboards[name] = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Dashboard;
    }
    rulesPath = join(dir, 'midflight-rules.yaml');
    rules = parse(readFileSync(rulesPath, 'utf8')) as Rules;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Every PromQL expression of the dashboards (panels, annotations) and rules, with where it is. */
  function expressions(): Array<{ where: string; expr: string }> {
    const all: Array<{ where: string; expr: string }> = [];
    for (const [file, d] of Object.entries(dashboards)) {
      for (const p of d.panels)
        for (const t of p.targets ?? [])
          all.push({ where: `${file}: ${p.title}`, expr: withGrafanaVariables(t.expr) });
      for (const a of d.annotations.list)
        if (a.expr) all.push({ where: `${file}: annotation`, expr: withGrafanaVariables(a.expr) });
    }
    for (const g of rules.groups)
      for (const r of g.rules) all.push({ where: `rules: ${r.alert ?? r.record}`, expr: r.expr });
    return all;
  }

  it('writes dashboards in the schema current Grafana imports, each with a $run_id variable', () => {
    for (const [file, d] of Object.entries(dashboards)) {
      expect(d.schemaVersion, file).toBeGreaterThanOrEqual(39);
      const runId = d.templating.list.find((v) => v.name === 'run_id');
      expect(runId?.definition, file).toBe('label_values(midflight_run_info, run_id)');
      const queries = d.panels.filter((p) => p.type !== 'row');
      expect(queries.length, file).toBeGreaterThan(5);
      for (const p of queries) {
        expect(p.targets?.length, `${file}: ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets!) expect(t.expr, `${file}: ${p.title}`).toMatch(/\S/);
      }
    }
    const titles = (file: string) => dashboards[file]!.panels.map((p) => p.title).join('\n');
    expect(titles('midflight-executive.json')).toMatch(
      /by cluster[\s\S]*SLO[\s\S]*Error budget[\s\S]*Critical services/,
    );
    expect(titles('midflight-on-call.json')).toMatch(
      /API error rate[\s\S]*API latency[\s\S]*Nodes not Ready[\s\S]*Drains in progress[\s\S]*Recent evictions[\s\S]*Top 10 services by error rate/,
    );
    expect(titles('midflight-debug.json')).toMatch(
      /etcd commit latency[\s\S]*etcd has a leader[\s\S]*CNI[\s\S]*CSI[\s\S]*Per-node timeline[\s\S]*restarts[\s\S]*Evictions/i,
    );
  });

  it('writes page and ticket alerts, each with a runbook link, labelled by run id', () => {
    const alerts = rules.groups.flatMap((g) => g.rules.filter((r) => r.alert));
    const bySeverity = (severity: string) =>
      alerts.filter((a) => a.labels?.severity === severity).map((a) => a.alert);
    expect(bySeverity('page')).toEqual([
      'MidflightAPIServerDown',
      'MidflightEtcdUnavailable',
      'MidflightNodesNotRejoining',
      'MidflightCriticalServiceErrors',
    ]);
    expect(bySeverity('ticket')).toEqual([
      'MidflightSlowDrain',
      'MidflightGateInconclusive',
      'MidflightNodeCrashLooping',
    ]);
    for (const a of alerts) {
      expect(a.annotations?.runbook_url).toBe(
        `https://runbooks.example/midflight#runbook-${a.alert!.toLowerCase()}`,
      );
      // Each alert's series carry run_id: a Midflight series grouped by it, or the cluster's joined with the run.
      expect(a.expr, a.alert).toMatch(/by \(run_id|group_left \(run_id\)/);
    }
    expect(JSON.stringify(rules)).toContain('service=~\\"checkout|payments\\"');
  });

  it('refuses a --critical-services that is not a regular expression, writing nothing', async () => {
    const out = join(dir, 'refused');
    const { code, stderr } = await runCli(
      'observability',
      'export',
      '--out',
      out,
      '--critical-services',
      '(',
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/--critical-services "\(": not a regular expression/);
    expect(existsSync(out)).toBe(false);
  });

  describe.runIf(havePromtool)('promtool', () => {
    it('accepts the exported rules file', async () => {
      const { stdout } = await run(PROMTOOL, ['check', 'rules', rulesPath]);
      expect(stdout).toMatch(/SUCCESS: 9 rules found/);
    });

    it('parses every dashboard query (as Grafana sends it, its variables filled in)', async () => {
      const queries = expressions().filter((e) => !e.where.startsWith('rules:'));
      const file = join(dir, 'dashboard-queries.yaml');
      writeFileSync(
        file,
        stringify({
          groups: [
            {
              name: 'dashboard-queries',
              rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr })),
            },
          ],
        }),
      );
      const { stdout } = await run(PROMTOOL, ['check', 'rules', file]);
      expect(stdout).toContain(`SUCCESS: ${queries.length} rules found`);
    });
  });

  describe('every query reads series that exist', () => {
    let sandbox: RunningSandbox;
    beforeAll(async () => {
      sandbox = await startSandbox();
    }, 120_000);
    afterAll(async () => sandbox?.stop());

    it("uses only Midflight's series, the sandbox's, the rules' own and Prometheus's", async () => {
      const scrape = await sandbox.request('GET', '/metrics');
      expect(scrape.status).toBe(200);
      const sandboxNames = exposedNames(scrape.body);
      const midflight = new Set<string>();
      for (const m of await new RunMetrics({ clock: new RealClock() }).registry.getMetricsAsJSON()) {
        midflight.add(m.name);
        // Note: prom-client's typings say an enum; at run time the type is its name.
        if (String(m.type) === 'histogram')
          for (const s of ['_bucket', '_sum', '_count']) midflight.add(m.name + s);
      }
      const recorded = new Set(
        rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))),
      );
      const variableQueries = Object.values(dashboards).flatMap((d) =>
        d.templating.list.flatMap((v) => (v.definition ? [v.definition] : [])),
      );
      const used = new Map<string, string>();
      for (const { where, expr } of expressions())
        for (const name of metricNamesOf(expr)) used.set(name, where);
      for (const q of variableQueries) used.set(/^label_values\((\w+),/.exec(q)![1]!, `variable ${q}`);

      const unknown = [...used].filter(
        ([name]) =>
          !midflight.has(name) &&
          !sandboxNames.has(name) &&
          !recorded.has(name) &&
          !PROMETHEUS_SERIES.has(name),
      );
      expect(unknown.map(([name, where]) => `${name} (${where})`)).toEqual([]);
      // Midflight's own series the exports read really are in its registry, and the test saw some of each.
      expect([...used.keys()].filter((n) => n.startsWith('midflight_') && !midflight.has(n))).toEqual([]);
      expect([...used.keys()].some((n) => sandboxNames.has(n))).toBe(true);
    });
  });
});

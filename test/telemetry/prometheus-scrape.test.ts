/**
 * The set-up docs/gates.md describes, with a real Prometheus (Debian's 2.42): it scrapes the sandbox's API
 * server (job `apiserver`) and `apply --metrics-addr` (job `midflight`) with the exported rules loaded.
 * While the run goes on, Prometheus holds the run's series under its id, every query of the exported
 * dashboards and rules executes without an error, every rule evaluates healthy, and nothing pages.
 *
 * Prometheus is skipped with a message when missing, a failure under CI.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderPlanYaml } from '../../src/plan/index.ts';
import { jsonEvents, runCli, spawnCli } from '../cli/run-cli.ts';
import {
  type RunningPrometheus,
  requireBinary,
  scrapeTargetOf,
  startPrometheus,
} from '../e2e/prometheus-harness.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import { planFor, startCluster, testPolicy, WORKERS_CLUSTER } from '../engine/engine-harness.ts';
import { withGrafanaVariables } from './promql-names.ts';

const TARGET = 'v1.31.2';

const POLICY = testPolicy({
  // The canary's soak keeps the run going while Prometheus starts and scrapes it: 30 s of wall time at the
  // harness's ×40, where a second or two is enough on an idle machine (a loaded one is slower).
  canary: { nodes: 1, soak: '20m' },
  timings: { waveSoak: '0s' },
  provider: { kind: 'job', image: 'registry.example/node-upgrader:1', command: 'kubeadm upgrade node' },
});

interface RulesAnswer {
  data: {
    groups: Array<{
      rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }>;
    }>;
  };
}

describe.skipIf(!requireBinary('prometheus'))('Prometheus scraping a run', () => {
  let sandbox: RunningSandbox;
  let prom: RunningPrometheus | undefined;
  let dir: string;

  beforeAll(async () => {
    sandbox = await startCluster(WORKERS_CLUSTER);
    dir = mkdtempSync(join(tmpdir(), 'midflight-prometheus-'));
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("holds the run's series, runs every exported query and evaluates every rule", async () => {
    const exported = join(dir, 'observability');
    expect((await runCli('observability', 'export', '--out', exported)).code).toBe(0);
    const planPath = join(dir, 'plan.yaml');
    writeFileSync(planPath, renderPlanYaml(await planFor(sandbox, TARGET, POLICY)));
    const apply = spawnCli(sandbox.kubeconfigPath, [
      'apply',
      planPath,
      '-o',
      'json',
      '--state',
      join(dir, 'state.db'),
      '--metrics-addr',
      '127.0.0.1:0',
    ]);
    try {
      let url: string | undefined;
      while (!url) {
        url = /Metrics: (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(apply.out)?.[1];
        await new Promise((r) => setTimeout(r, 50));
      }
      const rulesPath = join(exported, 'midflight-rules.yaml');
      prom = await startPrometheus({
        targets: [scrapeTargetOf(sandbox.kubeConfig(), 'apiserver'), { job: 'midflight', url }],
        ruleFiles: [rulesPath],
      });
      await prom.waitForTargetsUp();
      const [running] = await prom.waitFor(
        'midflight_run_state{state="running"} == 1',
        (s) => s.length === 1,
      );
      const runId = jsonEvents(apply.out).find((e) => e.type === 'run-started')?.runId;
      expect(running!.metric).toMatchObject({ job: 'midflight', run_id: runId });
      await prom.waitFor(`midflight_nodes_planned{run_id="${runId}"}`, (s) => s[0]?.value === 3);

      // Every query of the dashboards (as Grafana sends them) and of the rules runs.
      const queries: string[] = [];
      for (const file of ['midflight-executive.json', 'midflight-on-call.json', 'midflight-debug.json']) {
        const dashboard = JSON.parse(readFileSync(join(exported, file), 'utf8')) as {
          panels: Array<{ targets?: Array<{ expr: string }> }>;
        };
        for (const p of dashboard.panels)
          for (const t of p.targets ?? []) queries.push(withGrafanaVariables(t.expr));
      }
      const rules = parse(readFileSync(rulesPath, 'utf8')) as {
        groups: Array<{ rules: Array<{ expr: string }> }>;
      };
      for (const g of rules.groups) for (const r of g.rules) queries.push(r.expr);
      for (const q of queries) await expect(prom.query(q), q).resolves.toBeDefined();

      // Some of them see this run and this cluster: the progress by cluster, the API server's latency.
      const progress = await prom.query(withGrafanaVariables(queries[0]!));
      expect(progress[0]?.metric.cluster).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      await prom.waitFor('sum(rate(apiserver_request_total[1m])) > 0', (s) => s.length === 1);

      // Every rule has been evaluated, without an error; nothing pages on a run that goes well.
      let answer: RulesAnswer | undefined;
      const evaluated = () =>
        answer?.data.groups.every((g) => g.rules.every((r) => !r.lastEvaluation.startsWith('0001'))) ?? false;
      for (let i = 0; i < 120 && !evaluated(); i++) {
        answer = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as RulesAnswer;
        if (!evaluated()) await new Promise((r) => setTimeout(r, 500));
      }
      const rows = answer!.data.groups.flatMap((g) => g.rules);
      expect(rows).toHaveLength(9);
      expect(rows.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
      expect(await prom.query('ALERTS{severity="page"}')).toEqual([]);
    } finally {
      const { code, out } = await apply.exited;
      expect(code, out).toBe(0);
    }
  });
});

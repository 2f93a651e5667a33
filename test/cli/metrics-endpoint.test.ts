/**
 * `apply --metrics-addr`: while the run executes, http://HOST:PORT/metrics serves its `midflight_*` series,
 * each labelled with the run's id, as Prometheus scrapes them; a non-loopback address or a port in use is
 * refused before anything happens to the cluster.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPlanYaml } from '../../src/plan/index.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import { nodes, planFor, startCluster, testPolicy, WORKERS_CLUSTER } from '../engine/engine-harness.ts';
import { jsonEvents, runCli, spawnCli } from './run-cli.ts';

const TARGET = 'v1.31.2';

const POLICY = testPolicy({
  canary: { nodes: 1, soak: '10s' },
  timings: { waveSoak: '0s' },
  provider: { kind: 'job', image: 'registry.example/node-upgrader:1', command: 'kubeadm upgrade node' },
  // A gate that always passes, so the run's gate evaluations show in its metrics.
  gates: [{ name: 'smoke', provider: 'command', query: 'echo 1', success: 'result == 1', interval: '30s' }],
});

describe('apply --metrics-addr', () => {
  let sandbox: RunningSandbox;
  let dir: string;
  let planPath: string;

  beforeAll(async () => {
    sandbox = await startCluster(WORKERS_CLUSTER);
    dir = mkdtempSync(join(tmpdir(), 'midflight-metrics-'));
    planPath = join(dir, 'plan.yaml');
    writeFileSync(planPath, renderPlanYaml(await planFor(sandbox, TARGET, POLICY)));
  }, 60_000);

  afterAll(async () => {
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    [
      '0.0.0.0:0',
      [],
      /--metrics-addr 0\.0\.0\.0:0: 0\.0\.0\.0 is not a loopback address.*--metrics-allow-remote/,
    ],
    ['127.0.0.1', [], /--metrics-addr 127\.0\.0\.1: expected HOST:PORT/],
  ])('refuses --metrics-addr %s before touching the cluster', async (address, extra, message) => {
    const before = await nodes(sandbox);
    const state = join(dir, `refused-${address}.db`);
    const { code, stderr } = await runCli(
      '--kubeconfig',
      sandbox.kubeconfigPath,
      'apply',
      planPath,
      '--state',
      state,
      '--metrics-addr',
      address,
      ...extra,
    );
    expect(stderr).toMatch(message);
    expect(code).toBe(2);
    expect(await nodes(sandbox)).toEqual(before);
  });

  it('refuses a port in use, with no run started', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const before = await nodes(sandbox);
      const state = join(dir, 'in-use.db');
      const cli = (...args: string[]) =>
        runCli('--kubeconfig', sandbox.kubeconfigPath, ...args, '--state', state);
      const { code, stderr } = await cli('apply', planPath, '--metrics-addr', `127.0.0.1:${port}`);
      expect(stderr).toMatch(
        new RegExp(`error: --metrics-addr: cannot serve metrics on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`),
      );
      expect(code).toBe(1);
      expect(await nodes(sandbox)).toEqual(before);
      expect(JSON.parse((await cli('history', '-o', 'json')).stdout)).toEqual([]);
    } finally {
      taken.close();
    }
  });

  it("serves the run's midflight_* series while it runs, each labelled with its run id", async () => {
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
    let ended = false;
    const exited = apply.exited.then((result) => {
      ended = true;
      return result;
    });
    // Scrapes as Prometheus would, as often as it answers, until the run ends and the endpoint with it.
    const scrapes: string[] = [];
    let url: string | undefined;
    while (!ended) {
      url ??= /Metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(apply.out)?.[1];
      if (url) {
        try {
          const res = await fetch(url);
          expect(res.status).toBe(200);
          expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
          scrapes.push(await res.text());
        } catch (err) {
          // The run ended between two scrapes: the endpoint is gone with it.
          if (!ended && scrapes.length === 0) throw err;
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const { code, out } = await exited;
    expect(code, out).toBe(0);
    const runId = jsonEvents(out).find((e) => e.type === 'run-started')?.runId as string;
    expect(runId).toMatch(/\S/);

    const during = scrapes.filter((s) =>
      s.includes(`midflight_run_state{run_id="${runId}",state="running"} 1`),
    );
    expect(during.length, `${scrapes.length} scrapes`).toBeGreaterThan(0);
    const last = during.at(-1)!;
    // The pool's three workers (the control plane is at the target already).
    expect(last).toContain(`midflight_nodes_planned{run_id="${runId}"} 3`);
    expect(last).toMatch(
      new RegExp(`midflight_run_info\\{run_id="${runId}",cluster="https://127\\.0\\.0\\.1:\\d+",`),
    );
    // Every worker has a stage, and nodes were seen done while the run went on.
    for (const node of ['general-1', 'general-2', 'general-3'])
      expect(last).toMatch(new RegExp(`midflight_node_stage\\{run_id="${runId}",node="${node}"\\} \\d+`));
    expect(scrapes.some((s) => /midflight_nodes\{run_id="[^"]+",state="done"\} [1-9]/.test(s))).toBe(true);
    expect(scrapes.some((s) => /midflight_step_duration_seconds_count\{[^}]*kind="canary"/.test(s))).toBe(
      true,
    );
    expect(last).toMatch(
      new RegExp(
        `midflight_gate_evaluations_total\\{run_id="${runId}",gate="smoke",verdict="success"\\} [1-9]`,
      ),
    );
    expect(last).toContain(`midflight_gate_value{run_id="${runId}",gate="smoke"} 1`);
    for (const s of scrapes)
      for (const line of s.split('\n'))
        if (line.startsWith('midflight_')) expect(line).toContain(`run_id="${runId}"`);
  });
});

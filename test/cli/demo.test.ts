/**
 * The README's main command: `midflight demo` upgrades the demo sandbox end to end, asking nothing, with a
 * policy the user can read (examples/policies/demo-prometheus.yaml when Prometheus is installed: the demo
 * starts one for its gates, and stops it; examples/policies/demo.yaml, kube-native gates, otherwise), and
 * records its run where `history` and `status` look by default.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeGates } from '../../src/cli/commands/demo.ts';
import { PROMETHEUS_BINARY } from '../../src/observe/index.ts';
import { requireBinary } from '../e2e/loopback-binary.ts';
import { runCli } from './run-cli.ts';

/** Locally the demo runs kube-native gates without Prometheus; CI installs it, and a missing one fails there. */
const withPrometheus = existsSync(PROMETHEUS_BINARY) || requireBinary('prometheus');
const BIN = join(import.meta.dirname, '../../bin/midflight.js');

/** Whether anything still answers at `url` (the demo's Prometheus must not outlive the demo). */
async function answers(url: string): Promise<boolean> {
  try {
    await (await fetch(`${url}/-/ready`)).arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

describe('midflight demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'midflight-demo-'));
  // The demo's Prometheus keeps its data in a temp directory: one of our own shows what is left behind.
  const tmp = join(dir, 'tmp');
  const home = process.env.HOME;
  const tmpEnv = process.env.TMPDIR;
  // The default state store is ~/.midflight/state.db: a HOME of our own keeps the user's store untouched.
  beforeAll(() => {
    process.env.HOME = dir;
    mkdirSync(tmp);
    process.env.TMPDIR = tmp;
  });
  afterAll(() => {
    process.env.HOME = home;
    if (tmpEnv === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpEnv;
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows inventory, preflight and plan, then upgrades every node with no budget broken', async () => {
    const { code, stdout, stderr } = await runCli(
      'demo',
      '-o',
      'json',
      '--time-scale',
      '60',
      '--kubeconfig-out',
      join(dir, 'kubeconfig'),
    );
    // stdout carries only the run's events; the person's view (inventory, preflight, plan) is on stderr.
    const events = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const finished = events.at(-1);
    expect(finished).toMatchObject({ type: 'run-finished', state: 'succeeded' });
    expect(code).toBe(0);
    expect(finished.summary.nodes.upgraded).toHaveLength(10);
    expect(finished.summary.phases.map((p: { kind: string }) => p.kind)).toEqual([
      'preflight',
      'etcd-backup',
      'control-plane',
      'canary',
      'node-pool',
      'node-pool',
      'addons',
      'validation',
    ]);
    expect(stderr).toMatch(/== Inventory[\s\S]*== Preflight[\s\S]*0 blockers[\s\S]*== Plan[\s\S]*== Apply/);
    expect(stderr).toMatch(/Disruption budgets: never broken/);
    const gateVerdicts = events.filter((e) => e.type === 'gate-evaluated').map((e) => e.evaluation);
    expect(gateVerdicts.every((v: { verdict: string }) => v.verdict === 'success')).toBe(true);
    const policyFile = withPrometheus
      ? 'examples/policies/demo-prometheus.yaml'
      : 'examples/policies/demo.yaml';
    if (withPrometheus) {
      // A Prometheus started for the demo, scraping its sandbox: M1 and M5 read it, M2 the API.
      const url = /prometheus at (http:\/\/127\.0\.0\.1:\d+), started for the demo/.exec(stderr)?.[1];
      expect(stderr).toMatch(
        /Health gates: M1, M5-frontend \(prometheus at http:\/\/127\.0\.0\.1:\d+, started for the demo\); M2 \(kube: read from the API, no Prometheus needed\)/,
      );
      expect(new Set(gateVerdicts.map((v: { gate: string }) => v.gate))).toEqual(
        new Set(['M1', 'M5-frontend', 'M2']),
      );
      const m5 = gateVerdicts.find((v: { gate: string }) => v.gate === 'M5-frontend');
      expect(m5.query).toContain('http_requests_total{code=~"5..",service="frontend",namespace="shop"}');
      expect(m5.value).toBeGreaterThan(0);
      expect(m5.baseline).toBeGreaterThan(0);
      // Stopped at the end, its directory gone.
      expect(await answers(url!)).toBe(false);
      expect(readdirSync(tmp).filter((f) => f.startsWith('midflight-prometheus-'))).toEqual([]);
    } else {
      expect(stderr).toMatch(/Health gates: M1, M2 \(kube: read from the API, no Prometheus needed; /);
      expect(new Set(gateVerdicts.map((v: { gate: string }) => v.gate))).toEqual(new Set(['M1', 'M2']));
    }

    // The policy it ran with is a file the user can open (the test runs from the repository's root).
    expect(stderr).toContain(`Policy: ${policyFile}`);
    // Why `midflight preflight --to 1.31` on the same cluster disagrees: the demo's policy allows both.
    expect(stderr).toContain(
      `0 blockers with ${policyFile} (drain.force, drain.deleteEmptyDirData); ` +
        'the default policy would block on 2:\n' +
        '  [unmanaged-pod] Pod default/debug-shell\n' +
        '  [local-storage] StatefulSet monitoring/prometheus\n' +
        'so `midflight preflight --to 1.31` without --policy reports them and exits 1.',
    );

    // Its run is in the default state store: `history` and `status` right after the demo show it.
    const runId = finished.runId as string;
    const history = await runCli('history', '-o', 'json');
    expect(history.code).toBe(0);
    expect(JSON.parse(history.stdout)).toEqual([expect.objectContaining({ id: runId, state: 'succeeded' })]);
    const status = await runCli('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(runId);
    expect(stderr).toContain(`\`midflight status ${runId}\``);
  }, 600_000);

  it('refuses a policy that cannot upgrade a node before starting anything', async () => {
    // No provider section: the default is a Job with no image.
    const policy = join(dir, 'no-provider.yaml');
    writeFileSync(policy, 'canary: {nodes: 1}\n');
    const { code, stderr } = await runCli(
      'demo',
      '--policy',
      policy,
      '--kubeconfig-out',
      join(dir, 'refused.kubeconfig'),
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: the policy .*no-provider\.yaml cannot upgrade a node: /);
    expect(existsSync(join(dir, 'refused.kubeconfig'))).toBe(false);
  });

  it.runIf(withPrometheus)(
    'Ctrl-C before the run starts ends the demo with its Prometheus stopped and its directory removed',
    async () => {
      const own = mkdtempSync(join(tmp, 'interrupted-'));
      const child = spawn(
        process.execPath,
        [
          BIN,
          'demo',
          '--time-scale',
          '60',
          '--kubeconfig-out',
          join(own, 'kubeconfig'),
          '--state',
          join(own, 's.db'),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: own } },
      );
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Interrupted as soon as it says where its Prometheus is (the plan is shown; the run has not started).
      let url: string | undefined;
      for (let waited = 0; !url && waited < 120_000; waited += 100) {
        url = /prometheus at (http:\/\/127\.0\.0\.1:\d+), started for the demo/.exec(out)?.[1];
        if (!url) await new Promise((r) => setTimeout(r, 100));
      }
      expect(url, out).toBeDefined();
      expect(await answers(url!)).toBe(true);
      child.kill('SIGINT');
      expect(await exited, out).toBe(130);
      expect(await answers(url!)).toBe(false);
      expect(readdirSync(own).filter((f) => f.startsWith('midflight-prometheus-'))).toEqual([]);
    },
    180_000,
  );

  it.each([
    [
      'kube-native gates, no Prometheus installed',
      [
        { name: 'M1', provider: 'kube' },
        { name: 'M2', provider: 'kube' },
      ],
      undefined,
      false,
      `Health gates: M1, M2 (kube: read from the API, no Prometheus needed; ${PROMETHEUS_BINARY} is not installed), asked before each node is admitted and through each soak.\n`,
    ],
    [
      'kube-native gates from a policy that asks for them',
      [{ name: 'M1', provider: 'kube' }],
      undefined,
      true,
      'Health gates: M1 (kube: read from the API, no Prometheus needed), asked before each node is admitted and through each soak.\n',
    ],
    [
      'prometheus gates beside kube ones',
      [
        { name: 'M1', provider: 'prometheus' },
        { name: 'M2', provider: 'kube' },
        { name: 'M5-frontend', provider: 'prometheus' },
      ],
      'http://127.0.0.1:9999',
      true,
      'Health gates: M1, M5-frontend (prometheus at http://127.0.0.1:9999, started for the demo); M2 (kube: read from the API, no Prometheus needed), asked before each node is admitted and through each soak.\n',
    ],
    [
      'no gates',
      [],
      undefined,
      true,
      'Health gates: none in the policy; the kube-native gate after each wave still runs.\n',
    ],
  ])('says which gates it has and where they read from: %s', (_what, gates, url, installed, said) => {
    expect(describeGates(gates, url, installed)).toBe(said);
  });
});

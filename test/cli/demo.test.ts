/**
 * The README's main command: `midflight demo` upgrades the demo sandbox end to end, asking nothing, with a
 * policy the user can read (examples/policies/demo.yaml), and records its run where `history` and `status`
 * look by default.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

describe('midflight demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'midflight-demo-'));
  const home = process.env.HOME;
  // The default state store is ~/.midflight/state.db: a HOME of our own keeps the user's store untouched.
  beforeAll(() => {
    process.env.HOME = dir;
  });
  afterAll(() => {
    process.env.HOME = home;
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
    // The demo's policy has kube-native health gates: it says which, and the run asks them.
    expect(stderr).toMatch(/Health gates: M1, M2 \(kube: read from the API/);
    const gateVerdicts = events.filter((e) => e.type === 'gate-evaluated').map((e) => e.evaluation);
    expect(new Set(gateVerdicts.map((v: { gate: string }) => v.gate))).toEqual(new Set(['M1', 'M2']));
    expect(gateVerdicts.every((v: { verdict: string }) => v.verdict === 'success')).toBe(true);

    // The policy it ran with is a file the user can open (the test runs from the repository's root).
    expect(stderr).toContain('Policy: examples/policies/demo.yaml');
    // Why `midflight preflight --to 1.31` on the same cluster disagrees: the demo's policy allows both.
    expect(stderr).toContain(
      '0 blockers with examples/policies/demo.yaml (drain.force, drain.deleteEmptyDirData); ' +
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
});

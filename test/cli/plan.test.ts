import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Plan } from '../../src/plan/index.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { runCli } from './run-cli.ts';

const WORKERS = ['compute-1', 'compute-2', 'compute-3', 'general-1', 'general-2', 'general-3', 'general-4'];

describe('midflight plan', () => {
  let sandbox: RunningSandbox;
  const plan = (...args: string[]) => runCli('--kubeconfig', sandbox.kubeconfigPath, 'plan', ...args);

  beforeAll(async () => {
    sandbox = await startSandbox();
  }, 120_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  function nodeBatches(p: Plan): string[][] {
    return p.phases
      .filter((phase) => phase.kind === 'canary' || phase.kind === 'node-pool')
      .flatMap((phase) => phase.steps.map((s) => s.nodes));
  }

  it('puts every worker node in exactly one batch, after the control plane (JSON)', async () => {
    const { code, stdout, stderr } = await plan('--to', '1.31', '-o', 'json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const p = JSON.parse(stdout) as Plan;
    expect(p.source).toBe('v1.30.6');
    expect(p.target).toMatch(/^v1\.31\.\d+$/);
    expect(nodeBatches(p).flat().sort()).toEqual(WORKERS);
    expect(p.phases.map((phase) => phase.kind)).toEqual([
      'preflight',
      'etcd-backup',
      'control-plane',
      'canary',
      'node-pool',
      'node-pool',
      'addons',
      'validation',
    ]);
    const controlPlane = p.phases.find((phase) => phase.kind === 'control-plane')!;
    expect(controlPlane.steps.map((s) => s.nodes)).toEqual([['cp-1'], ['cp-2'], ['cp-3']]);
  });

  it('respects maxUnavailable from the policy file in every batch', async () => {
    const policy = join(sandbox.kubeconfigPath, '..', 'two-at-a-time.yaml');
    writeFileSync(
      policy,
      'apiVersion: midflight.dev/v1alpha1\ndefaults:\n  maxUnavailable: 2\ncanary:\n  nodes: 0\n',
    );
    const { code, stdout } = await plan('--to', '1.31', '--policy', policy, '-o', 'yaml');
    expect(code).toBe(0);
    const batches = nodeBatches(parseYaml(stdout) as Plan);
    expect(batches.flat().sort()).toEqual(WORKERS);
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(2);
  });

  it('writes a Markdown runbook with every phase to --out', async () => {
    const out = join(sandbox.kubeconfigPath, '..', 'runbook.md');
    const { code, stdout, stderr } = await plan('--to', '1.31', '-o', 'markdown', '--out', out);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toBe(`plan written to ${out}\n`);
    const runbook = readFileSync(out, 'utf8');
    expect(runbook).toMatch(/^# Upgrade runbook: v1\.30\.6 → v1\.31\.\d+/);
    const headings = runbook.split('\n').filter((l) => l.startsWith('## '));
    for (const phase of [
      /^## Preflight/,
      /^## etcd backup/,
      /^## Control plane/,
      /^## Canary/,
      /^## Node pool compute/,
      /^## Node pool general/,
      /^## Add-ons/,
      /^## Validation/,
    ])
      expect(
        headings.some((h) => phase.test(h)),
        String(phase),
      ).toBe(true);
    for (const worker of WORKERS) expect(runbook).toContain(worker);
  });

  it('prints a table for people', async () => {
    const { code, stdout } = await plan('--to', '1.31');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Plan plan-[0-9a-f]{12}: v1\.30\.6 → v1\.31\.\d+/);
    expect(stdout).toMatch(/^#\s+PHASE\s+STEP\s+NODES\s+EST\.$/m);
  });

  it.each([
    [
      ['--to', '1.29'],
      1,
      /^error: cannot plan this upgrade: v1\.29\.\d+ is older than the running v1\.30\.6/,
    ],
    [
      ['--to', '1.31', '-o', 'html'],
      2,
      /unknown output format "html": use one of table, yaml, json, markdown/,
    ],
    [['--to', 'latest'], 2, /--to "latest" is not a Kubernetes version/],
  ])('refuses %j with exit %i and one line', async (args, exitCode, message) => {
    const { code, stderr } = await plan(...args);
    expect(code).toBe(exitCode);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { checkPlanIntegrity } from '../../src/engine/index.ts';
import { isNodeWave, type NodeWaveStep, type Plan } from '../../src/plan/index.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { runCli } from './run-cli.ts';

const WORKERS = ['compute-1', 'compute-2', 'compute-3', 'general-1', 'general-2', 'general-3', 'general-4'];

/**
 * A policy that can upgrade the demo cluster: a provider, and drains that may delete the bare pod and the
 * emptyDir data that preflight otherwise reports as blockers.
 */
const READY_POLICY = `apiVersion: midflight.dev/v1alpha1
drain: { force: true, deleteEmptyDirData: true }
provider: { kind: command, command: "midflight sandbox upgrade-node {node} --to {version} --kubeconfig {kubeconfig}" }
`;

describe('midflight plan', () => {
  let sandbox: RunningSandbox;
  let ready: string;
  /** `plan` with a policy that has a provider and leaves preflight no blockers, unless one is given. */
  const plan = (...args: string[]) =>
    runCli(
      '--kubeconfig',
      sandbox.kubeconfigPath,
      'plan',
      ...(args.includes('--policy') ? [] : ['--policy', ready]),
      ...args,
    );

  beforeAll(async () => {
    sandbox = await startSandbox();
    ready = join(sandbox.kubeconfigPath, '..', 'ready.yaml');
    writeFileSync(ready, READY_POLICY);
  }, 120_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  function nodeWaves(p: Plan): NodeWaveStep[] {
    return p.phases
      .filter((phase) => phase.kind === 'canary' || phase.kind === 'node-pool')
      .flatMap((phase) => phase.steps.filter(isNodeWave));
  }

  it('puts every worker node in exactly one wave, after the control plane (JSON)', async () => {
    const { code, stdout, stderr } = await plan('--to', '1.31', '-o', 'json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const p = JSON.parse(stdout) as Plan;
    expect(p.source).toBe('v1.30.6');
    expect(p.target).toMatch(/^v1\.31\.\d+$/);
    expect(
      nodeWaves(p)
        .flatMap((w) => w.nodes)
        .sort(),
    ).toEqual(WORKERS);
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

  it('lets no more nodes into flight than maxUnavailable from the policy file', async () => {
    const policy = join(sandbox.kubeconfigPath, '..', 'two-at-a-time.yaml');
    writeFileSync(policy, `${READY_POLICY}defaults:\n  maxUnavailable: 2\ncanary:\n  nodes: 0\n`);
    const { code, stdout } = await plan('--to', '1.31', '--policy', policy, '-o', 'yaml');
    expect(code).toBe(0);
    const waves = nodeWaves(parseYaml(stdout) as Plan);
    expect(waves.flatMap((w) => w.nodes).sort()).toEqual(WORKERS);
    for (const wave of waves) expect(wave.maxInFlight).toBe(Math.min(2, wave.nodes.length));
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
    const { code, stdout, stderr } = await plan('--to', '1.31');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Plan plan-[0-9a-f]{12}: v1\.30\.6 → v1\.31\.\d+/);
  });

  describe('without a policy: no provider chosen, and preflight blockers', () => {
    const bare = (...args: string[]) => runCli('--kubeconfig', sandbox.kubeconfigPath, 'plan', ...args);
    const BLOCKED =
      'blocked: preflight found 2 blockers when this plan was written: `apply` stops at its preflight ' +
      'phase until they are fixed (then write a new plan); they are listed at its top\n';

    it('says first which provider to choose and where the examples are, then writes the plan, exit 1', async () => {
      const out = join(sandbox.kubeconfigPath, '..', 'blocked.yaml');
      const { code, stdout, stderr } = await bare('--to', '1.31', '-o', 'yaml', '--out', out);
      expect(stdout).toBe('');
      const [choose, written, blocked] = stderr.split(/(?<=\n)/);
      expect(choose).toMatch(
        /^warning: `apply` will refuse this plan: no provider chosen: give `plan` or `apply --to` a policy file \(--policy\) whose `provider` says how a node is upgraded, `command` .* or `job` .*; examples\/ has policies to start from\n$/,
      );
      expect(written).toBe(`plan written to ${out}\n`);
      expect(blocked).toBe(BLOCKED);
      expect(code).toBe(1);

      const file = parseYaml(readFileSync(out, 'utf8')) as Plan;
      expect(file.blockers?.map((b) => `${b.check} ${b.subject}`)).toEqual([
        'unmanaged-pod Pod default/debug-shell',
        'local-storage StatefulSet monitoring/prometheus',
      ]);
      expect(file.blockers?.[0]?.fix).toMatch(/drain.force: true/);
      // The plan is valid and its id covers the blockers: removing them is an edit.
      expect(checkPlanIntegrity(file).id).toBe(file.id);
      const { blockers: _, ...unblocked } = file;
      expect(() => checkPlanIntegrity(unblocked)).toThrow(/changed after it was written/);
    });

    it('lists the blockers at the top of the table', async () => {
      const { code, stdout, stderr } = await bare('--to', '1.31');
      expect(stderr).toMatch(new RegExp(`${BLOCKED.replace(/[()`]/g, '\\$&')}$`));
      expect(code).toBe(1);
      const lines = stdout.split('\n');
      expect(lines[0]).toBe(
        'BLOCKED: preflight found 2 blockers when this plan was written: `apply` stops at its preflight phase until they are fixed (then write a new plan)',
      );
      expect(lines.slice(1, 4)).toEqual([
        '  [unmanaged-pod] Pod default/debug-shell',
        '      declares no controller: the drain of general-1 refuses to delete it',
        expect.stringMatching(/^ {6}fix: /),
      ]);
      expect(stdout.indexOf('[local-storage] StatefulSet monitoring/prometheus')).toBeLessThan(
        stdout.indexOf('Plan plan-'),
      );
    });

    it('lists the blockers at the top of the runbook, and as data in JSON', async () => {
      const runbook = (await bare('--to', '1.31', '-o', 'markdown')).stdout;
      expect(runbook).toMatch(
        /^# Upgrade runbook: .*\n\n\*\*Blocked\*\*: preflight found 2 blockers .*\n\n## Blockers\n\n- \*\*unmanaged-pod\*\* Pod default\/debug-shell: declares no controller/,
      );
      expect(runbook.indexOf('## Blockers')).toBeLessThan(runbook.indexOf('## Preflight'));
      const json = await bare('--to', '1.31', '-o', 'json');
      expect(json.code).toBe(1);
      expect((JSON.parse(json.stdout) as Plan).blockers).toHaveLength(2);
    });
  });

  it('prints the step table for people', async () => {
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

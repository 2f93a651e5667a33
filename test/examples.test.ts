/**
 * examples/ works on the sandbox as it is: every policy there loads through the CLI's policy reader (the
 * real parser, then the checks of preflight ids and hooks), names a provider that can upgrade a node, finds
 * no blocker and plans against the demo sandbox read over HTTP; each distinct provider the files name
 * upgrades a sandbox node as written; and the manifests give `preflight --manifests` a removed API to show.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerProblem, readManifests, readPolicyFile } from '../src/cli/upgrade-inputs.ts';
import type { ClusterSnapshot } from '../src/core/snapshot.ts';
import { parseVersion } from '../src/core/versions.ts';
import { readSnapshot } from '../src/kube/snapshot.ts';
import { type Plan, type Policy, planUpgrade } from '../src/plan/index.ts';
import { runPreflight } from '../src/preflight/index.ts';
import { providerFromPolicy } from '../src/providers/index.ts';
import { type RunningSandbox, startSandbox } from './e2e/sandbox-harness.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const POLICY_DIR = join('examples', 'policies');
const POLICIES = readdirSync(join(REPO, POLICY_DIR))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const TARGET = parseVersion('v1.31.14');

const nodesOf = (plan: Plan, kind: string) =>
  plan.phases.filter((p) => p.kind === kind).flatMap((p) => p.steps.flatMap((s) => s.nodes));

/** What each example is for, as its plan on the demo cluster shows it. */
const SHOWS: Record<string, (plan: Plan, policy: Policy) => void> = {
  'canary.yaml': (plan) => {
    expect(nodesOf(plan, 'canary').sort()).toEqual(['compute-1', 'compute-2', 'compute-3']);
    expect(plan.phases.filter((p) => p.kind === 'node-pool').map((p) => p.pool)).toEqual(['general']);
  },
  'cluster-api.yaml': (plan, policy) => {
    expect(policy.nodeProvider).toMatchObject({ kind: 'cluster-api', machineDeployment: '{pool}' });
    const replacement = plan.phases
      .flatMap((p) => p.steps)
      .flatMap((s) => (s.kind === 'node-wave' && s.pool === 'compute' ? [s.replacement] : []));
    expect(replacement.every((r) => r?.blueGreen === true)).toBe(true);
  },
  'demo.yaml': (plan, policy) => {
    expect(nodesOf(plan, 'canary')).toHaveLength(1);
    expect(policy.drain).toMatchObject({ force: true, deleteEmptyDirData: true });
  },
  'demo-prometheus.yaml': (plan, policy) => {
    expect(nodesOf(plan, 'canary')).toHaveLength(1);
    expect(policy.prometheus?.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect(policy.gates.map((g) => [g.name, g.provider])).toEqual([
      ['M1', 'prometheus'],
      ['M5-frontend', 'prometheus'],
      ['M2', 'kube'],
    ]);
  },
  'hooks.yaml': (_plan, policy) => {
    expect(Object.keys(policy.hooks).sort()).toEqual(['backup', 'post', 'pre', 'timeout']);
  },
  'job-provider.yaml': (_plan, policy) => expect(policy.provider.kind).toBe('job'),
  'pools.yaml': (plan) => {
    expect(nodesOf(plan, 'canary')).toEqual(['general-1']);
    expect(plan.phases.filter((p) => p.kind === 'node-pool').map((p) => p.pool)).toEqual([
      'general',
      'compute',
    ]);
  },
  'sandbox-command.yaml': (_plan, policy) => expect(policy.provider.kind).toBe('command'),
  'surge.yaml': (plan, policy) => {
    expect(policy.nodeProvider?.kind).toBe('sandbox');
    const waves = plan.phases
      .flatMap((p) => p.steps)
      .filter((s) => s.kind === 'node-wave' || s.kind === 'canary');
    const replacement = (pool: string) =>
      waves
        .filter((s) => 'pool' in s && s.pool === pool)
        .map((s) => ('replacement' in s ? s.replacement : undefined));
    expect(
      replacement('general').every((r) => r?.maxSurge === 1 && r.maxUnavailable === 0 && !r.blueGreen),
    ).toBe(true);
    expect(replacement('compute').every((r) => r?.blueGreen === true)).toBe(true);
    expect(replacement('compute').at(-1)?.finalSoakSeconds).toBe(300);
  },
};

describe('examples/', () => {
  let sandbox: RunningSandbox;
  let snapshot: ClusterSnapshot;
  beforeAll(async () => {
    sandbox = await startSandbox({ scenario: 'demo', timeScale: 30 });
    snapshot = await readSnapshot(sandbox.kubeConfig(), { clock: sandbox.box.ctx.clock });
  }, 120_000);
  afterAll(async () => sandbox?.stop());

  it('has the examples the README lists, each explained by its comments', () => {
    expect(POLICIES).toEqual(Object.keys(SHOWS).sort());
    for (const file of POLICIES) {
      const text = readFileSync(join(REPO, POLICY_DIR, file), 'utf8');
      expect(text.startsWith('# '), `${file} opens with what it is for`).toBe(true);
    }
  });

  it.each(POLICIES)('%s loads, finds no blocker and plans every node of the demo cluster', (file) => {
    const policy = readPolicyFile(join(POLICY_DIR, file));
    expect(providerProblem(policy)).toBeUndefined();
    const report = runPreflight(snapshot, TARGET, policy, sandbox.box.ctx.clock.now());
    expect(report.findings.filter((f) => f.severity === 'blocker')).toEqual([]);
    const plan = planUpgrade(snapshot, TARGET, policy);
    expect(nodesOf(plan, 'control-plane').sort()).toEqual(['cp-1', 'cp-2', 'cp-3']);
    expect([...nodesOf(plan, 'canary'), ...nodesOf(plan, 'node-pool')].sort()).toEqual([
      'compute-1',
      'compute-2',
      'compute-3',
      'general-1',
      'general-2',
      'general-3',
      'general-4',
    ]);
    SHOWS[file]!(plan, policy);
  });

  // Note: the command providers run `npx midflight …` from the repository's root, as the README's commands do
  // (vitest runs there). One node per distinct provider; compute nodes are a minor behind the API server.
  it('upgrades a sandbox node with each provider the examples name, as written', async () => {
    const distinct = new Map<string, Policy['provider']>();
    for (const file of POLICIES) {
      const { provider } = readPolicyFile(join(POLICY_DIR, file));
      distinct.set(`${provider.kind} ${JSON.stringify(provider.command)} ${provider.image ?? ''}`, provider);
    }
    expect(distinct.size).toBe(2);
    const kc = sandbox.kubeConfig();
    const nodes = ['compute-1', 'compute-2'];
    const log: string[] = [];
    for (const [i, settings] of [...distinct.values()].entries()) {
      const node = nodes[i]!;
      const { provider } = providerFromPolicy(settings, {
        kc,
        clock: sandbox.box.ctx.clock,
        kubeconfigPath: sandbox.kubeconfigPath,
      });
      await provider.upgradeNode({
        node,
        version: 'v1.30.6',
        previousVersion: 'v1.29.10',
        pool: 'compute',
        role: 'worker',
        runId: 'run-examples-test',
        signal: new AbortController().signal,
        // Beside the sandbox's kubeconfig: a folder of the test's own, removed with the sandbox.
        outputFile: join(dirname(sandbox.kubeconfigPath), `upgrade-${node}.log`),
        log: (line) => log.push(line),
      });
      const { stdout } = await sandbox.kubectl(
        'get',
        'node',
        node,
        '-o',
        'jsonpath={.status.nodeInfo.kubeletVersion}',
      );
      expect(stdout, `${settings.kind} provider on ${node}:\n${log.join('\n')}`).toBe('v1.30.6');
    }
  }, 600_000);

  it('gives preflight --manifests a removed API to report at the version that removes it', () => {
    const manifests = readManifests([join('examples', 'manifests')]);
    const fromManifests = (to: string) =>
      runPreflight(snapshot, parseVersion(to), { manifests }, 0)
        .findings.filter((f) => f.id === 'removed-api' && f.message.includes('examples/manifests/'))
        .map((f) => `${f.severity} ${f.subject.kind} ${f.subject.name}`)
        .sort();
    expect(fromManifests('v1.31.14')).toEqual(['warning CronJob nightly-report']);
    expect(fromManifests('v1.32.2')).toEqual([
      'blocker FlowSchema batch-reports',
      'blocker PriorityLevelConfiguration batch-reports',
      'warning CronJob nightly-report',
    ]);
  });
});

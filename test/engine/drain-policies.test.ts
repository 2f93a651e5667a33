/**
 * A budget that never allows an eviction (pdb-deadlock's `stubborn`), under each drain.onTimeout policy.
 */
import { CoreV1Api, PolicyV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { resumeRun, startRun } from '../../src/engine/index.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import {
  CountingProvider,
  DEADLOCK_CLUSTER,
  expectUpgraded,
  FAST,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  startCluster,
  testPolicy,
} from './engine-harness.ts';

const policy = (onTimeout: string) =>
  testPolicy({
    drain: { timeout: '30s', onTimeout },
    preflight: { skip: ['pdb-blocks-drain', 'no-disruption-budget', 'webhook-fail-closed', 'certificates'] },
  });

/** pdb-deadlock as shipped: two workloads no eviction can move, spread over the pool's nodes. */
const SPREAD_DEADLOCK_CLUSTER = DEADLOCK_CLUSTER.replace(
  '  - { name: stubborn, namespace: legacy, kind: Deployment, replicas: 1, pdb: { minAvailable: 1 } }',
  `  - { name: stubborn, namespace: legacy, kind: Deployment, replicas: 2, pdb: { minAvailable: 2 } }
  - { name: singleton, namespace: legacy, kind: Deployment, replicas: 1, pdb: { maxUnavailable: 0 } }`,
);

/** Each worker holds one `heavy` pod and has no room for a second: a pool with no capacity to spare. */
const TIGHT_DEADLOCK_CLUSTER = `
name: engine-tight-deadlock
kubernetesVersion: v1.31.2
seed: 7
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 3, version: v1.30.6, capacity: { cpu: "2", memory: 8Gi } }
workloads:
  - { name: stubborn, namespace: legacy, kind: Deployment, replicas: 2, requests: { cpu: 100m, memory: 128Mi }, pdb: { minAvailable: 2 } }
  - { name: heavy, namespace: app, kind: Deployment, replicas: 3, requests: { cpu: 1200m, memory: 1Gi }, pdb: { maxUnavailable: 1 } }
${DEADLOCK_CLUSTER.slice(DEADLOCK_CLUSTER.indexOf('timing:'))}`;

async function stubbornNode(sandbox: RunningSandbox): Promise<string> {
  const pods = await sandbox.kubeConfig().makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'legacy' });
  return pods.items[0]!.spec!.nodeName!;
}

describe('drain.onTimeout with a budget that never allows an eviction', () => {
  it('halt: fails the run naming the pod and its budget, leaves nothing cordoned, and resumes once fixed', async () => {
    const sandbox = await startCluster(DEADLOCK_CLUSTER);
    const h = harness(sandbox, new CountingProvider(new SandboxApiProvider(sandbox)));
    try {
      const stuck = await stubbornNode(sandbox);
      const plan = await planFor(sandbox, 'v1.31.2', policy('halt'));
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.state).toBe('failed');
      expect(summary.reason).toMatch(new RegExp(`halted: ${stuck}: drain .*legacy/stubborn-.*stubborn-pdb`));
      expect(summary.nodes.failed.map((n) => n.node)).toEqual([stuck]);
      expect((await nodes(sandbox)).filter((n) => n.unschedulable)).toEqual([]);
      const blocking = h.events.flatMap((e) => (e.type === 'eviction-progress' ? e.blocking : []));
      expect(blocking).toContainEqual(
        expect.objectContaining({ budget: 'stubborn-pdb', pod: expect.stringMatching(/^legacy\/stubborn-/) }),
      );
      const events = await sandbox.kubectl(
        'get',
        'events',
        '-A',
        '--field-selector',
        'reason=DrainBlocked',
        '-o',
        'name',
      );
      expect(events.stdout).not.toBe('');

      // The owner relaxes the budget; the run resumes and finishes.
      await sandbox
        .kubeConfig()
        .makeApiClient(PolicyV1Api)
        .deleteNamespacedPodDisruptionBudget({ name: 'stubborn-pdb', namespace: 'legacy' });
      const resumed = await resumeRun(h.deps, summary.runId, FAST);
      expect(resumed.state).toBe('succeeded');
      await expectUpgraded(sandbox, 'v1.31.2');
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 30_000);

  it('skip: gives the node back, retries it at the end of its pool, ends incomplete naming it, and resume retries it', async () => {
    const sandbox = await startCluster(DEADLOCK_CLUSTER);
    const provider = new CountingProvider(new SandboxApiProvider(sandbox));
    const h = harness(sandbox, provider);
    try {
      const stuck = await stubbornNode(sandbox);
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2', policy('skip')), FAST);
      // Not "succeeded": a node was left behind, and the run says which and why.
      expect(summary.state).toBe('incomplete');
      expect(summary.reason).toMatch(
        new RegExp(
          `1 node\\(s\\) left behind: ${stuck} skipped \\(drain .*stubborn-pdb.*midflight resume ${summary.runId}`,
        ),
      );
      expect(summary.nodes.skipped).toEqual([
        expect.objectContaining({ node: stuck, reason: expect.stringMatching(/stubborn-pdb/) }),
      ]);
      expect(provider.calls.get(stuck)).toBeUndefined();
      await expectUpgraded(sandbox, 'v1.31.2', [stuck]);
      const n = (await nodes(sandbox)).find((x) => x.name === stuck)!;
      expect(n).toMatchObject({ version: 'v1.30.6', unschedulable: false });
      const retried = h.deps.store
        .logs(summary.runId)
        .some((l) => l.message === `retrying skipped node ${stuck}`);
      expect(retried).toBe(true);

      // The owner relaxes the budget: resume retries the node left behind, and only it.
      await sandbox
        .kubeConfig()
        .makeApiClient(PolicyV1Api)
        .deleteNamespacedPodDisruptionBudget({ name: 'stubborn-pdb', namespace: 'legacy' });
      const before = new Map(provider.calls);
      const resumed = await resumeRun(h.deps, summary.runId, FAST);
      expect(resumed.state).toBe('succeeded');
      expect(resumed.nodes.skipped).toEqual([]);
      expect(provider.calls.get(stuck)).toBe(1);
      for (const [node, count] of before) expect(provider.calls.get(node)).toBe(count);
      await expectUpgraded(sandbox, 'v1.31.2');
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it('quarantine: leaves the node cordoned and labelled, upgrades the rest', async () => {
    const sandbox = await startCluster(DEADLOCK_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      const stuck = await stubbornNode(sandbox);
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2', policy('quarantine')), FAST);
      expect(summary.state).toBe('incomplete');
      expect(summary.reason).toMatch(new RegExp(`left behind: ${stuck} quarantined`));
      expect(summary.nodes.quarantined.map((q) => q.node)).toEqual([stuck]);
      await expectUpgraded(sandbox, 'v1.31.2', [stuck]);
      const n = (await nodes(sandbox)).find((x) => x.name === stuck)!;
      expect(n.unschedulable).toBe(true);
      expect(n.labels['upgrade.midflight.dev/quarantined']).toBe('true');
      expect(n.annotations['upgrade.midflight.dev/quarantined']).toMatch(/stubborn-pdb/);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 30_000);

  it('quarantine: stops at drain.maxQuarantined (one per pool by default), then halts saying why', async () => {
    const sandbox = await startCluster(SPREAD_DEADLOCK_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      const pods = await sandbox
        .kubeConfig()
        .makeApiClient(CoreV1Api)
        .listNamespacedPod({ namespace: 'legacy' });
      const stuckNodes = new Set(pods.items.map((p) => p.spec!.nodeName!));
      // The premise: more nodes than the limit have a drain that can never finish.
      expect(stuckNodes.size).toBeGreaterThan(1);
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2', policy('quarantine')), FAST);
      expect(summary.state).toBe('failed');
      expect(summary.nodes.quarantined).toHaveLength(1);
      const quarantined = summary.nodes.quarantined[0]!.node;
      expect(summary.reason).toMatch(
        new RegExp(
          `halted: .*not quarantined: pool general already has 1 quarantined node\\(s\\) \\(${quarantined}; drain.maxQuarantined is 1\\)`,
        ),
      );
      // Only the quarantined node is out of service; the halted one was given back.
      const cordoned = (await nodes(sandbox)).filter((n) => n.unschedulable).map((n) => n.name);
      expect(cordoned).toEqual([quarantined]);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it('quarantine: never takes a node the pool needs to drain its next one, even below drain.maxQuarantined', async () => {
    const sandbox = await startCluster(TIGHT_DEADLOCK_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      const tight = testPolicy({
        drain: { timeout: '30s', onTimeout: 'quarantine', maxQuarantined: 2 },
        preflight: {
          skip: [
            'pdb-blocks-drain',
            'no-disruption-budget',
            'webhook-fail-closed',
            'certificates',
            'capacity',
          ],
        },
      });
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2', tight), FAST);
      expect(summary.state).toBe('failed');
      expect(summary.nodes.quarantined).toEqual([]);
      expect(summary.reason).toMatch(
        /not quarantined: with general-\d out of service, pool general has no room for the pods of its next node\(s\) general-\d/,
      );
      expect((await nodes(sandbox)).filter((n) => n.unschedulable)).toEqual([]);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);
});

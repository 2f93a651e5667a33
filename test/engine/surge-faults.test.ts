/**
 * strategy surge when the node provider cannot deliver (issue 14): a pool quota too small for the surge and a
 * node that never joins stop the run with a clear reason and leave the old nodes serving, uncordoned, with no
 * machine of the run's left behind; once the fault is gone, `resume` finishes the replacement. And a node
 * that has a pod other than a DaemonSet's when its deletion comes is not deleted.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { resumeRun, startRun } from '../../src/engine/index.ts';
import { nodeProviderFromPolicy } from '../../src/providers/index.ts';
import {
  CrashError,
  FAST,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  startCluster,
} from './engine-harness.ts';
import {
  expectPoolReplaced,
  machines,
  SURGE_CLUSTER,
  surgePolicy,
  WitnessNodeProvider,
  watchPool,
  witnessProvider,
} from './surge-harness.ts';

const TARGET = 'v1.31.2';
const OLD = ['general-1', 'general-2', 'general-3'];

async function oldNodesServing(sandbox: Awaited<ReturnType<typeof startCluster>>) {
  const pool = (await nodes(sandbox)).filter((n) => OLD.includes(n.name));
  return pool.map((n) => [n.name, n.version, n.ready, n.unschedulable]);
}

describe('strategy surge, faults', () => {
  it('stops at a pool quota with the provider’s reason, touching nothing, and finishes once the quota allows', async () => {
    const sandbox = await startCluster(SURGE_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      await sandbox.request('PATCH', '/sandbox/v1/faults', { body: { poolQuota: { general: 3 } } });
      const plan = await planFor(sandbox, TARGET, surgePolicy());
      const witness = witnessProvider(sandbox, plan);
      const summary = await startRun({ ...h.deps, nodeProvider: witness }, plan, FAST);
      expect(summary.state).toBe('failed');
      expect(summary.reason).toContain(
        'could not create a replacement for general-1 in pool general: the sandbox refused to create 1 node(s) in pool general: quota exceeded: pool general holds 3 node(s) and its quota is 3, so 1 more cannot be created',
      );
      expect(await oldNodesServing(sandbox)).toEqual(OLD.map((n) => [n, 'v1.30.6', true, false]));
      expect(await machines(sandbox)).toEqual([]);

      await sandbox.request('PATCH', '/sandbox/v1/faults', { body: { poolQuota: { general: 4 } } });
      const resumed = await resumeRun({ ...h.deps, nodeProvider: witness }, summary.runId, FAST);
      expect(resumed.reason).toBeUndefined();
      expect(resumed.state).toBe('succeeded');
      await expectPoolReplaced(sandbox, summary.runId, TARGET);
      expect(witness.podsAtDelete).toEqual([]);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 90_000);

  it('deletes a replacement that never joins, stops with why, and replaces the node on resume', async () => {
    const sandbox = await startCluster(SURGE_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      await sandbox.request('PATCH', '/sandbox/v1/faults', { body: { nodesNeverJoin: { general: 1 } } });
      const plan = await planFor(
        sandbox,
        TARGET,
        surgePolicy({ nodeProvider: { kind: 'sandbox', joinTimeout: '30s' } }),
      );
      const witness = witnessProvider(sandbox, plan);
      const summary = await startRun({ ...h.deps, nodeProvider: witness }, plan, FAST);
      expect(summary.state).toBe('failed');
      expect(summary.reason).toContain(
        'the replacement for general-1 (general-4) did not register and turn Ready at v1.31.2 within 30s (nodeProvider.joinTimeout); general-4, created for it, was deleted; general-1 is untouched',
      );
      expect(await oldNodesServing(sandbox)).toEqual(OLD.map((n) => [n, 'v1.30.6', true, false]));
      expect(witness.deletes).toEqual(['general-4']);
      expect(await machines(sandbox)).toEqual([]);

      const resumed = await resumeRun({ ...h.deps, nodeProvider: witness }, summary.runId, FAST);
      expect(resumed.reason).toBeUndefined();
      expect(resumed.state).toBe('succeeded');
      await expectPoolReplaced(sandbox, summary.runId, TARGET);
      expect(witness.creates).toBe(4);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 90_000);

  it('with maxUnavailable 1 deletes an old node before its replacement exists, never going past the pool size + maxSurge', async () => {
    const sandbox = await startCluster(SURGE_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    const pool = watchPool(sandbox);
    try {
      const plan = await planFor(
        sandbox,
        TARGET,
        surgePolicy({
          canary: { nodes: 0 },
          pools: [{ name: 'general', strategy: 'surge', maxSurge: 0, maxUnavailable: 1 }],
        }),
      );
      // maxSurge 0: the quota of the pool's own size is enough.
      await sandbox.request('PATCH', '/sandbox/v1/faults', { body: { poolQuota: { general: 3 } } });
      const witness = witnessProvider(sandbox, plan);
      const summary = await startRun({ ...h.deps, nodeProvider: witness }, plan, FAST);
      expect(summary.reason).toBeUndefined();
      await expectPoolReplaced(sandbox, summary.runId, TARGET);
      pool.stop();
      expect(pool.seen.most).toBe(3);
      expect(pool.seen.fewestServing).toBe(2);
      expect(witness.podsAtDelete).toEqual([]);
    } finally {
      pool.stop();
      h.cleanup();
      await sandbox.stop();
    }
  }, 90_000);

  it('does not delete a drained node that a pod was bound to since, and says which pod', async () => {
    const sandbox = await startCluster(SURGE_CLUSTER);
    let crashNow = false;
    const h = harness(sandbox, new SandboxApiProvider(sandbox), {
      beforeWrite: () => {
        if (crashNow) throw new CrashError(0);
      },
    });
    try {
      const plan = await planFor(sandbox, TARGET, surgePolicy());
      const witness = witnessProvider(sandbox, plan);
      // The moment general-1 is recorded drained, the process dies: its deletion has not been asked for.
      const onEvent = (e: { type: string; node?: string; subStep?: string }) => {
        if (e.type === 'node-changed' && e.node === 'general-1' && e.subStep === 'drained') crashNow = true;
      };
      await expect(
        startRun({ ...h.deps, nodeProvider: witness, onEvent }, plan, FAST),
      ).rejects.toBeInstanceOf(CrashError);
      // Someone binds a pod to the cordoned, drained node (a pod with nodeName set skips the scheduler).
      const core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
      await core.createNamespacedPod({
        namespace: 'app',
        body: {
          metadata: { name: 'pinned' },
          spec: { nodeName: 'general-1', containers: [{ name: 'c', image: 'busybox' }] },
        },
      });
      const store = h.openStore();
      const [run] = store.listRuns();
      const summary = await resumeRun({ ...h.deps, store, nodeProvider: witness }, run!.id, FAST);
      expect(summary.state).toBe('failed');
      expect(summary.reason).toContain(
        'refusing to delete general-1: 1 pod(s) other than DaemonSet pods are still on it (app/pinned); it stays cordoned',
      );
      expect(witness.deletes).toEqual([]);
      const general1 = (await nodes(sandbox)).find((n) => n.name === 'general-1');
      expect(general1?.unschedulable).toBe(true);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 90_000);
});

describe('strategy surge with the command node provider', () => {
  it('recognises the unlabelled new nodes by the policy’s rule, claims them, and replaces the pool', async () => {
    const sandbox = await startCluster(SURGE_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      const script = 'node test/fixtures/sandbox-node-group.mjs';
      const plan = await planFor(
        sandbox,
        TARGET,
        surgePolicy({
          nodeProvider: {
            kind: 'command',
            create: `${script} create {kubeconfig} {pool} {version} {count}`,
            delete: `${script} delete {kubeconfig} {pool} {node}`,
            newNodes: { selector: 'midflight.dev/pool={pool}', namePattern: '{pool}-*' },
            joinTimeout: '2m',
          },
        }),
      );
      const witness = new WitnessNodeProvider(
        nodeProviderFromPolicy(plan.policy.nodeProvider!, {
          kc: sandbox.kubeConfig(),
          kubeconfigPath: sandbox.kubeconfigPath,
        }),
        sandbox,
      );
      const summary = await startRun({ ...h.deps, nodeProvider: witness }, plan, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      await expectPoolReplaced(sandbox, summary.runId, TARGET);
      expect(witness.creates).toBe(3);
      expect(witness.deletes.sort()).toEqual(OLD);
      expect(witness.podsAtDelete).toEqual([]);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 90_000);
});

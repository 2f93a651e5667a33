/**
 * strategy surge end to end on the sandbox (issue 14): new nodes at the target are created through the
 * sandbox's node group API, Ready before any old node is cordoned (maxUnavailable 0), then each old node is
 * drained under the budgets and deleted. Faults: a quota too small for the surge, a node that never joins.
 */
import { describe, expect, it } from 'vitest';
import { startRun } from '../../src/engine/index.ts';
import { nodeProviderFromPolicy } from '../../src/providers/index.ts';
import {
  CountingProvider,
  FAST,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  startCluster,
} from './engine-harness.ts';
import { machines, SURGE_CLUSTER, surgePolicy, watchPool } from './surge-harness.ts';

const TARGET = 'v1.31.2';

describe('strategy surge', () => {
  it('replaces every node of the pool: new nodes first, old ones drained and deleted, no budget broken', async () => {
    const sandbox = await startCluster(SURGE_CLUSTER);
    const provider = new CountingProvider(new SandboxApiProvider(sandbox));
    const h = harness(sandbox, provider);
    const pool = watchPool(sandbox);
    try {
      const plan = await planFor(sandbox, TARGET, surgePolicy());
      const steps = plan.phases.flatMap((p) => p.steps).filter((s) => 'replacement' in s);
      expect(steps.map((s) => s.title)).toEqual([
        'Canary: replace general-1 (general) with new nodes at v1.31.2',
        'Replace 2 nodes (general) with new nodes at v1.31.2',
      ]);
      h.deps.nodeProvider = nodeProviderFromPolicy(plan.policy.nodeProvider!, { kc: sandbox.kubeConfig() });
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      // The summary says which node replaced which; nothing was upgraded in place.
      expect(summary.nodes.upgraded).toEqual([]);
      expect(summary.nodes.replaced?.map((r) => r.node).sort()).toEqual([
        'general-1',
        'general-2',
        'general-3',
      ]);

      const after = (await nodes(sandbox)).filter((n) => n.labels['midflight.dev/pool'] === 'general');
      expect(after.map((n) => [n.name, n.version, n.ready, n.unschedulable])).toEqual([
        ['general-4', TARGET, true, false],
        ['general-5', TARGET, true, false],
        ['general-6', TARGET, true, false],
      ]);
      const runId = summary.runId;
      expect(after.map((n) => n.labels['upgrade.midflight.dev/replaces']).sort()).toEqual([
        'general-1',
        'general-2',
        'general-3',
      ]);
      expect(after.every((n) => n.labels['upgrade.midflight.dev/run-id'] === runId)).toBe(true);
      expect((await machines(sandbox)).length).toBe(3);
      // The in-place provider was never called: nothing was upgraded in place.
      expect(provider.calls.size).toBe(0);
      const { items } = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
      expect(items).toEqual([]);
      pool.stop();
      // maxUnavailable 0: never fewer serving nodes than the pool's size; maxSurge 1: never more than one extra.
      expect(pool.seen).toEqual({ fewestServing: 3, most: 4 });
    } finally {
      pool.stop();
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);
});

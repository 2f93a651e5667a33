import { describe, expect, it } from 'vitest';
import { analyseBudget } from '../../src/core/budgets.ts';
import { buildClusterModel, isEvictable, isPodReady } from '../../src/core/cluster-model.ts';
import { nodesAtOnce } from '../../src/core/intorstr.ts';
import { parseVersion } from '../../src/core/versions.ts';
import { type BudgetLimit, buildBatches } from '../../src/plan/batching.ts';
import { defaultPolicy } from '../../src/plan/index.ts';
import { planUpgrade } from '../../src/plan/planner.ts';
import { seededRandom, syntheticCluster } from '../fixtures/snapshots/synthetic-cluster.ts';

const SEEDS = Array.from({ length: 25 }, (_, i) => 1000 + i);

describe('batching invariants over random clusters', () => {
  it.each(SEEDS)(
    'seed %i: no batch exceeds maxUnavailable; budgets hold whenever the plan says so',
    (seed) => {
      const random = seededRandom(seed);
      const poolSizes = [2 + Math.floor(random() * 8), 1 + Math.floor(random() * 6)];
      const maxUnavailable = [1, 2, 3, '30%', '50%'][Math.floor(random() * 5)]!;
      const snapshot = syntheticCluster({
        seed,
        pools: [
          { name: 'a', nodes: poolSizes[0]! },
          { name: 'b', nodes: poolSizes[1]! },
        ],
        workloads: 3 + Math.floor(random() * 10),
        replicas: [1, 5],
        budgetShare: 0.7,
        podCpu: random() < 0.3 ? '6' : '200m',
      });
      const policy = defaultPolicy();
      policy.defaults.maxUnavailable = maxUnavailable;
      policy.canary.nodes = Math.floor(random() * 3);
      const plan = planUpgrade(snapshot, parseVersion('v1.31.14'), policy);

      // Independent bookkeeping from the snapshot, not from the plan's own budget usage.
      const model = buildClusterModel(snapshot);
      const allowed = new Map(snapshot.pdbs.map((p) => [p, analyseBudget(model, p).disruptionsAllowed]));
      const upgraded: string[] = [];
      for (const step of plan.phases.flatMap((p) => p.steps)) {
        if (step.kind !== 'node-batch' && step.kind !== 'canary') continue;
        const poolSize = model.pools.get(step.pool!)!.length;
        expect(step.nodes.length).toBeLessThanOrEqual(nodesAtOnce(maxUnavailable, poolSize));
        upgraded.push(...step.nodes);
        const evicted = new Map<unknown, number>();
        const touching = new Map<unknown, string[]>();
        for (const node of step.nodes) {
          for (const pod of model.nodeByName.get(node)!.pods) {
            if (!isEvictable(pod) || !isPodReady(pod)) continue;
            for (const pdb of model.budgetsOf(pod)) {
              evicted.set(pdb, (evicted.get(pdb) ?? 0) + 1);
              const list = touching.get(pdb) ?? [];
              if (!list.includes(node)) list.push(node);
              touching.set(pdb, list);
            }
          }
        }
        for (const [pdb, n] of evicted) {
          if (n <= allowed.get(pdb as never)!) continue;
          // Exceeded only where no grouping could help: one node, which exceeds the budget on its own.
          expect(step.respectsBudgets).toBe(false);
          expect(touching.get(pdb)).toHaveLength(1);
        }
      }
      const workers = model.nodes.filter((n) => !n.controlPlane).map((n) => n.name);
      expect([...upgraded].sort()).toEqual([...workers].sort());
      expect(plan.estimate.nodePhaseSeconds).toBeGreaterThanOrEqual(plan.estimate.nodePhaseLowerBoundSeconds);
    },
  );

  it.each(SEEDS)('seed %i: a batch breaks a budget only when its single node alone must', (seed) => {
    const random = seededRandom(seed);
    const nodes = Array.from({ length: 3 + Math.floor(random() * 12) }, (_, i) => `n${i}`);
    const budgets = new Map<string, BudgetLimit>();
    for (let b = 0; b < 4; b++) budgets.set(`b${b}`, { key: `b${b}`, allowed: Math.floor(random() * 3) });
    const table = new Map(
      nodes.map((n) => [
        n,
        new Map(
          [...budgets.keys()].filter(() => random() < 0.4).map((k) => [k, 1 + Math.floor(random() * 2)]),
        ),
      ]),
    );
    const maxNodes = 1 + Math.floor(random() * 4);
    const batches = buildBatches({ nodes, maxNodes, evictionsOf: (n) => table.get(n)!, budgets });
    expect(batches.flatMap((b) => b.nodes).sort()).toEqual([...nodes].sort());
    for (const batch of batches) {
      expect(batch.nodes.length).toBeLessThanOrEqual(maxNodes);
      const usage = new Map<string, number>();
      for (const n of batch.nodes) for (const [k, c] of table.get(n)!) usage.set(k, (usage.get(k) ?? 0) + c);
      const over = [...usage].filter(([k, c]) => c > budgets.get(k)!.allowed);
      if (batch.respectsBudgets) expect(over).toEqual([]);
      else expect(over.length).toBeGreaterThan(0);
      for (const [k] of over) {
        const touching = batch.nodes.filter((n) => table.get(n)!.has(k));
        expect(touching).toHaveLength(1);
        expect(table.get(touching[0]!)!.get(k)!).toBeGreaterThan(budgets.get(k)!.allowed);
      }
    }
  });
});

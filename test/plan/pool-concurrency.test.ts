/**
 * policy.poolConcurrency in the plan: which phases flow together, what the estimate and the lower bound make
 * of them, how the table and the runbook show them, and the policy's checks. Off by default: the golden
 * plans (planner.test.ts) have no group.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../src/core/snapshot.ts';
import { parseVersion } from '../../src/core/versions.ts';
import { type Plan, policyFromYaml } from '../../src/plan/index.ts';
import { lowerBound, type PoolBoundInput, togetherLowerBound } from '../../src/plan/lower-bound.ts';
import { planUpgrade } from '../../src/plan/planner.ts';
import { renderRunbook } from '../../src/plan/render-markdown.ts';
import { renderPlanTable } from '../../src/plan/render-table.ts';

const demo = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/snapshots/demo.json', import.meta.url)), 'utf8'),
) as ClusterSnapshot;

/** The demo's plan (canary compute-1, then compute's 2 nodes two minors behind, then general's 4). */
function demoPlan(extra = '', canary = '{nodes: 1, soak: 2m}'): Plan {
  const result = policyFromYaml(
    `canary: ${canary}\ndrain: {force: true, deleteEmptyDirData: true}\ntimings: {waveSoak: 30s}\n${extra}`,
    'policy.yaml',
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return planUpgrade(demo, parseVersion('v1.31.14'), result.policy);
}

const nodePhases = (plan: Plan) => plan.phases.filter((p) => p.kind === 'canary' || p.kind === 'node-pool');

describe('pools flowing together in the plan', () => {
  it('leaves plans without poolConcurrency as they were: pools one after another', () => {
    const plan = demoPlan();
    expect(plan.phases.some((p) => p.flowGroup !== undefined)).toBe(false);
    expect(plan.estimate.flowGroups).toBeUndefined();
    expect(plan.estimate.lowerBound.together).toBeUndefined();
    expect(plan.estimate.nodePhaseSeconds).toBe(nodePhases(plan).reduce((s, p) => s + p.estimateSeconds, 0));
  });

  it('groups the pools after the canary, and counts them once in the estimate and the bound', () => {
    const alone = demoPlan();
    const plan = demoPlan('poolConcurrency: {maxInFlight: 4}\n');
    const [canary, compute, general] = nodePhases(plan);
    expect([canary!.kind, compute!.pool, general!.pool]).toEqual(['canary', 'compute', 'general']);
    expect(canary!.flowGroup).toBeUndefined();
    expect(compute!.flowGroup).toBe('pools-v1.31.14-1');
    expect(general!.flowGroup).toBe(compute!.flowGroup);
    // The waves themselves are the same as alone.
    expect(plan.phases.flatMap((p) => p.steps)).toEqual(alone.phases.flatMap((p) => p.steps));

    const [group] = plan.estimate.flowGroups!;
    expect(group).toMatchObject({ pools: ['compute', 'general'], maxInFlight: 4 });
    // The longer pool (general's 4 nodes one at a time, for capacity) sets it; 4 slots fit all the cycles.
    expect(group!.estimateSeconds).toBe(Math.max(compute!.estimateSeconds, general!.estimateSeconds));
    expect(plan.estimate.nodePhaseSeconds).toBe(canary!.estimateSeconds + group!.estimateSeconds);
    expect(plan.estimate.nodePhaseSeconds).toBeLessThan(alone.estimate.nodePhaseSeconds);
    expect(plan.estimate.totalSeconds).toBe(
      alone.estimate.totalSeconds - alone.estimate.nodePhaseSeconds + plan.estimate.nodePhaseSeconds,
    );

    // The bound: the canary alone, then the larger of each pool's own bound and all cycles ÷ 4.
    const bound = plan.estimate.lowerBound;
    const byName = new Map(bound.pools.map((p) => [p.pool, p.seconds]));
    expect(bound.together).toEqual([
      expect.objectContaining({
        pools: ['compute', 'general'],
        maxInFlight: 4,
        seconds: Math.max(byName.get('compute')!, byName.get('general')!),
      }),
    ]);
    expect(bound.seconds).toBe(byName.get('compute (canary)')! + bound.together![0]!.seconds);
    // Soaks overlap: the canary's 2 min, then the group's slowest pool with its own 30 s soak.
    expect(plan.estimate.nodePhaseLowerBoundSeconds).toBe(
      byName.get('compute (canary)')! + 120 + bound.together![0]!.seconds + 30,
    );
    expect(group!.lowerBoundSeconds).toBe(bound.together![0]!.seconds + 30);
    expect(plan.estimate.nodePhaseLowerBoundSeconds).toBeLessThanOrEqual(plan.estimate.nodePhaseSeconds);
  });

  it('makes groups of `pools` consecutive pools; a pool left alone has no group', () => {
    const plan = demoPlan(
      'poolConcurrency: {maxInFlight: 4, pools: 2}\npools: [{name: compute}, {name: general}]\n',
    );
    expect(nodePhases(plan).map((p) => p.flowGroup)).toEqual([
      undefined,
      'pools-v1.31.14-1',
      'pools-v1.31.14-1',
    ]);
    // A canary pool goes first and alone; the one pool left makes no group.
    const canaryPool = demoPlan('poolConcurrency: {maxInFlight: 4}\n', '{pool: compute, soak: 2m}');
    expect(nodePhases(canaryPool).map((p) => [p.kind, p.flowGroup])).toEqual([
      ['canary', undefined],
      ['node-pool', undefined],
    ]);
    expect(canaryPool.estimate.flowGroups).toBeUndefined();
  });

  it('shows the group in the table and the runbook', () => {
    const plan = demoPlan('poolConcurrency: {maxInFlight: 4}\n');
    const table = renderPlanTable(plan);
    expect(table).toMatch(/node-pool \[together 1\]\s+Upgrade 2 nodes \(compute\)/);
    expect(table).toMatch(/node-pool \[together 1\]\s+Upgrade 4 nodes \(general\)/);
    expect(table).toContain('Together [together 1]: pools compute, general flow side by side');
    expect(table).toContain('at most 4 node(s) in flight across them');
    const runbook = renderRunbook(plan);
    expect(runbook).toContain(
      'Flows side by side with general (pools-v1.31.14-1), under the run-wide cap of 4 node(s) in flight.',
    );
    expect(runbook).toContain('- pools compute, general flow side by side (pools-v1.31.14-1)');
  });
});

describe('togetherLowerBound', () => {
  const pool = (name: string, nodes: number): PoolBoundInput => ({
    pool: name,
    nodes,
    maxInFlight: 2,
    cycleSeconds: 40,
    podStartupSeconds: 5,
    budgets: [],
  });

  it.each([
    // cap, floor: each pool alone takes ceil(3 / 2) × 40 = 80 s; 6 cycles of 40 s through the cap
    [2, 120],
    [3, 80],
    [4, 80],
  ])(
    'two pools of 3 nodes (2 in flight each, 40 s cycles) under a run-wide cap of %i: %i s',
    (cap, floor) => {
      const pools = [pool('a', 3), pool('b', 3)];
      expect(togetherLowerBound(pools, [0, 1], cap).seconds).toBe(floor);
      // Never more than the pools one after another, never less than either alone.
      const sequential = lowerBound(pools).seconds;
      const together = lowerBound(pools, [{ members: [0, 1], maxInFlight: cap }]);
      expect(together.seconds).toBe(floor);
      expect(together.seconds).toBeLessThanOrEqual(sequential);
      expect(together.seconds).toBeGreaterThanOrEqual(80);
    },
  );
});

describe('policy.poolConcurrency', () => {
  it.each([
    ['poolConcurrency: {pools: 2}', 'poolConcurrency.maxInFlight', /is required/],
    ['poolConcurrency: {maxInFlight: 0}', 'poolConcurrency.maxInFlight', /at least 1/],
    ['poolConcurrency: {maxInFlight: 4, pools: 1}', 'poolConcurrency.pools', /at least 2/],
    ['poolConcurrency: {maxInFlight: 4, pool: 2}', 'poolConcurrency.pool', /unknown field/],
    ['poolConcurrency: 4', 'poolConcurrency', /mapping/],
  ])('%s: %s', (yaml, field, message) => {
    const result = policyFromYaml(yaml, 'policy.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toContainEqual(
      expect.objectContaining({ field, message: expect.stringMatching(message) }),
    );
  });

  it('reads it, and leaves it out when unset', () => {
    const result = policyFromYaml('poolConcurrency: {maxInFlight: 6, pools: 3}', 'policy.yaml');
    expect(result.ok && result.policy.poolConcurrency).toEqual({ maxInFlight: 6, pools: 3 });
    const none = policyFromYaml('', 'policy.yaml');
    expect(none.ok && 'poolConcurrency' in none.policy).toBe(false);
  });
});

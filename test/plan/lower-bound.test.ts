/**
 * The physical lower bound of a node phase (plan/lower-bound.ts): the in-flight cap's node cycles, each
 * budget's serial eviction time and its last node's cycle, whichever is larger, pools one after another.
 */
import { describe, expect, it } from 'vitest';
import { lowerBound, type PoolBoundInput, poolLowerBound } from '../../src/plan/lower-bound.ts';
import { describeBound } from '../../src/plan/reasons.ts';

const base: PoolBoundInput = {
  pool: 'workers',
  nodes: 24,
  maxInFlight: 4,
  cycleSeconds: 40,
  podStartupSeconds: 5,
  budgets: [],
};

describe('poolLowerBound', () => {
  it("takes the header's worked example: 240 s of node cycles beat web's 185 s", () => {
    expect(poolLowerBound({ ...base, budgets: [{ budget: 'shop/web', pods: 30, allowed: 1 }] })).toEqual({
      pool: 'workers',
      nodes: 24,
      maxInFlight: 4,
      inFlightSeconds: 240,
      limitedBy: 'in-flight',
      budgetAllowsNone: false,
      seconds: 240,
    });
  });

  it.each([
    ['nodes divide evenly', 24, 4, 240],
    ['a last, partial round of nodes counts a whole cycle', 25, 4, 280],
    ['one node at a time', 3, 1, 120],
    ['more in flight than nodes', 3, 8, 40],
    ['an in-flight cap of 0 counts as 1', 2, 0, 80],
    ['an empty pool', 0, 4, 0],
  ])('in flight: %s', (_name, nodes, maxInFlight, seconds) => {
    const b = poolLowerBound({ ...base, nodes, maxInFlight });
    expect(b.inFlightSeconds).toBe(seconds);
    expect(b.seconds).toBe(seconds);
    expect(b.limitedBy).toBe('in-flight');
  });

  it('is set by a budget whose pods take longer to leave than the node cycles', () => {
    // web: 59 start-ups between its 60 pods, then the last one's node: 59 × 5 + 40 = 335 s > 240 s;
    // api: 10 groups of 2, 9 × 5 + 40 = 85 s.
    const b = poolLowerBound({
      ...base,
      budgets: [
        { budget: 'shop/api', pods: 20, allowed: 2 },
        { budget: 'shop/web', pods: 60, allowed: 1 },
      ],
    });
    expect(b).toMatchObject({
      limitedBy: 'budget',
      seconds: 335,
      inFlightSeconds: 240,
      tightestBudget: { budget: 'shop/web', pods: 60, allowed: 1, seconds: 335 },
    });
    expect(describeBound(b)).toMatch(
      /budget shop\/web allows 1 disruption\(s\) at a time and covers 60 pod\(s\)/,
    );
  });

  it('rounds a budget time up to whole seconds', () => {
    // 4 groups of 2: 3 × 2.5 + 40 = 47.5 s.
    const b = poolLowerBound({
      ...base,
      nodes: 0,
      podStartupSeconds: 2.5,
      budgets: [{ budget: 'b', pods: 7, allowed: 2 }],
    });
    expect(b.seconds).toBe(48);
  });

  it("counts the last group's node cycle, not its pods' start-up: a start-up longer than a cycle", () => {
    // Two nodes out at once, one pod of web on each; web allows 1 and a replacement starts in 60 s. The
    // second pod goes 60 s after the first, its node is back 10 s later: 70 s, not 2 × 60 s.
    const b = poolLowerBound({
      ...base,
      nodes: 2,
      maxInFlight: 2,
      cycleSeconds: 10,
      podStartupSeconds: 60,
      budgets: [{ budget: 'shop/web', pods: 2, allowed: 1 }],
    });
    expect(b).toMatchObject({ limitedBy: 'budget', seconds: 70 });
  });

  it('names the first budget by name when two take as long', () => {
    const b = poolLowerBound({
      ...base,
      budgets: [
        { budget: 'z/web', pods: 60, allowed: 1 },
        { budget: 'a/api', pods: 120, allowed: 2 },
      ],
    });
    expect(b.tightestBudget?.budget).toBe('a/api');
  });

  it('leaves the bound to the in-flight cap when a budget takes exactly as long', () => {
    // 40 × 5 + 40 = 240 s = 6 × 40 s.
    const b = poolLowerBound({ ...base, budgets: [{ budget: 'w', pods: 41, allowed: 1 }] });
    expect(b.limitedBy).toBe('in-flight');
    expect(b.tightestBudget).toBeUndefined();
    expect(b.seconds).toBe(240);
  });

  it('says the capacity set the bound when it lowered the in-flight cap', () => {
    const b = poolLowerBound({ ...base, maxInFlight: 2, capacityLimited: true });
    expect(b).toMatchObject({ limitedBy: 'capacity', seconds: 480 });
    expect(describeBound(b)).toMatch(/fewer in flight than the policy allows because the pods would not fit/);
  });

  it('lets a slower budget set the bound even when the capacity lowered the cap', () => {
    const b = poolLowerBound({
      ...base,
      maxInFlight: 2,
      capacityLimited: true,
      budgets: [{ budget: 'w', pods: 200, allowed: 1 }],
    });
    expect(b).toMatchObject({ limitedBy: 'budget', seconds: 199 * 5 + 40 });
  });

  it('counts a budget allowing 0 as allowing 1 and flags it', () => {
    const b = poolLowerBound({ ...base, budgets: [{ budget: 'db', pods: 60, allowed: 0 }] });
    expect(b).toMatchObject({
      limitedBy: 'budget',
      seconds: 335,
      budgetAllowsNone: true,
      tightestBudget: { budget: 'db', pods: 60, allowed: 0, seconds: 335 },
    });
    expect(describeBound(b)).toMatch(/allows no disruption now/);
  });

  it('flags a budget allowing 0 even when it does not set the bound', () => {
    const b = poolLowerBound({ ...base, budgets: [{ budget: 'db', pods: 2, allowed: 0 }] });
    expect(b).toMatchObject({ limitedBy: 'in-flight', budgetAllowsNone: true, seconds: 240 });
  });

  it('adds what must come first once (a green pool booting) to whatever sets the bound', () => {
    // blue-green: a 300 s boot, then drains with no minimum of their own; web's 4 pods one start-up apart.
    const b = poolLowerBound({
      ...base,
      cycleSeconds: 0,
      setupSeconds: 300,
      budgets: [{ budget: 'shop/web', pods: 4, allowed: 1 }],
    });
    expect(b).toMatchObject({
      setupSeconds: 300,
      inFlightSeconds: 0,
      limitedBy: 'budget',
      seconds: 300 + 15,
    });
    expect(describeBound(b)).toMatch(/^Pool workers: after the green pool's boot \(5m\), budget shop\/web/);
    expect(poolLowerBound({ ...base, nodes: 0, setupSeconds: 300 }).seconds).toBe(0);
  });

  it('ignores a budget with no pods on the pool', () => {
    const b = poolLowerBound({ ...base, budgets: [{ budget: 'db', pods: 0, allowed: 0 }] });
    expect(b).toMatchObject({ limitedBy: 'in-flight', budgetAllowsNone: false, seconds: 240 });
  });
});

describe('lowerBound', () => {
  it('adds the pools up: they go one after another', () => {
    const bound = lowerBound([
      base,
      { ...base, pool: 'gpu', nodes: 3, maxInFlight: 1, budgets: [{ budget: 'ml', pods: 100, allowed: 1 }] },
    ]);
    expect(bound.pools.map((p) => [p.pool, p.seconds, p.limitedBy])).toEqual([
      ['workers', 240, 'in-flight'],
      ['gpu', 99 * 5 + 40, 'budget'],
    ]);
    expect(bound.seconds).toBe(240 + 535);
  });

  it('is 0 for no pools', () => {
    expect(lowerBound([])).toEqual({ seconds: 0, pools: [] });
  });
});

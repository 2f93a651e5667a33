/**
 * The physical lower bound of a node phase (plan/lower-bound.ts): the in-flight cap's node cycles, each
 * budget's serial eviction time, whichever is larger, pools one after another.
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
  it("takes the header's worked example: 240 s of node cycles beat web's 150 s", () => {
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
    // 60 pods × 5 s ÷ 1 = 300 s > 240 s; api: 20 × 5 ÷ 2 = 50 s.
    const b = poolLowerBound({
      ...base,
      budgets: [
        { budget: 'shop/api', pods: 20, allowed: 2 },
        { budget: 'shop/web', pods: 60, allowed: 1 },
      ],
    });
    expect(b).toMatchObject({
      limitedBy: 'budget',
      seconds: 300,
      inFlightSeconds: 240,
      tightestBudget: { budget: 'shop/web', pods: 60, allowed: 1, seconds: 300 },
    });
    expect(describeBound(b)).toMatch(
      /budget shop\/web allows 1 disruption\(s\) at a time and covers 60 pod\(s\)/,
    );
  });

  it('rounds a budget time up to whole seconds', () => {
    // 7 × 5 ÷ 2 = 17.5 s.
    const b = poolLowerBound({ ...base, nodes: 0, budgets: [{ budget: 'b', pods: 7, allowed: 2 }] });
    expect(b.seconds).toBe(18);
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
    // 48 × 5 ÷ 1 = 240 s = 6 × 40 s.
    const b = poolLowerBound({ ...base, budgets: [{ budget: 'w', pods: 48, allowed: 1 }] });
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
    expect(b).toMatchObject({ limitedBy: 'budget', seconds: 1000 });
  });

  it('counts a budget allowing 0 as allowing 1 and flags it', () => {
    const b = poolLowerBound({ ...base, budgets: [{ budget: 'db', pods: 60, allowed: 0 }] });
    expect(b).toMatchObject({
      limitedBy: 'budget',
      seconds: 300,
      budgetAllowsNone: true,
      tightestBudget: { budget: 'db', pods: 60, allowed: 0, seconds: 300 },
    });
    expect(describeBound(b)).toMatch(/allows no disruption now/);
  });

  it('flags a budget allowing 0 even when it does not set the bound', () => {
    const b = poolLowerBound({ ...base, budgets: [{ budget: 'db', pods: 2, allowed: 0 }] });
    expect(b).toMatchObject({ limitedBy: 'in-flight', budgetAllowsNone: true, seconds: 240 });
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
      ['gpu', 500, 'budget'],
    ]);
    expect(bound.seconds).toBe(740);
  });

  it('is 0 for no pools', () => {
    expect(lowerBound([])).toEqual({ seconds: 0, pools: [] });
  });
});

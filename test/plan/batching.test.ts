import { describe, expect, it } from 'vitest';
import { type BudgetLimit, buildBatches } from '../../src/plan/batching.ts';
import { lowerBound, poolLowerBound } from '../../src/plan/lower-bound.ts';
import { describeReason } from '../../src/plan/reasons.ts';

const budgets = (entries: Record<string, number>) =>
  new Map<string, BudgetLimit>(Object.entries(entries).map(([key, allowed]) => [key, { key, allowed }]));
const evictions = (table: Record<string, Record<string, number>>) => (node: string) =>
  new Map(Object.entries(table[node] ?? {}));

describe('buildBatches', () => {
  it('deals the nodes over the fewest batches when filling each batch in turn would need one more', () => {
    // web allows 1 and sits on a, f, g, h: no plan has fewer than 4 batches. First-fit makes 5.
    const table: Record<string, Record<string, number>> = {
      a: { web: 1, api: 1, db: 1 },
      b: { db: 1 },
      c: { db: 1 },
      d: { api: 1 },
      e: { api: 1, db: 1 },
      f: { web: 1, db: 1 },
      g: { web: 1, db: 1 },
      h: { web: 1, api: 1, db: 1 },
      i: { api: 1 },
    };
    const limits = budgets({ web: 1, api: 2, db: 2 });
    const batches = buildBatches({
      nodes: Object.keys(table),
      maxNodes: 3,
      evictionsOf: evictions(table),
      budgets: limits,
    });
    expect(batches).toHaveLength(4);
    expect(
      batches
        .flatMap((b) => b.nodes)
        .sort()
        .join(''),
    ).toBe('abcdefghi');
    for (const batch of batches) {
      expect(batch.nodes.length).toBeLessThanOrEqual(3);
      expect(batch.respectsBudgets).toBe(true);
      for (const [key, { allowed }] of limits) {
        const evicted = batch.nodes.reduce((n, node) => n + (table[node]![key] ?? 0), 0);
        expect(evicted).toBeLessThanOrEqual(allowed);
      }
    }
    expect(batches[0]!.reasons[0]).toMatchObject({ kind: 'dealt', rounds: 4, fewest: true });
  });

  it.each([
    ['no budgets: maxUnavailable decides', 2, {}, {}, [['a', 'b'], ['c', 'd'], ['e']]],
    [
      'a budget allowing 1 spreads its nodes',
      2,
      { 'app/web': 1 },
      { a: { 'app/web': 1 }, b: { 'app/web': 1 }, c: {}, d: {} },
      [['a', 'c'], ['b', 'd'], ['e']],
    ],
    [
      'a budget allowing 2 lets two of its nodes go together',
      3,
      { 'app/web': 2 },
      { a: { 'app/web': 1 }, b: { 'app/web': 1 }, c: { 'app/web': 1 } },
      [
        ['a', 'b', 'd'],
        ['c', 'e'],
      ],
    ],
  ])('%s', (_name, maxNodes, limits, table, expected) => {
    const batches = buildBatches({
      nodes: ['a', 'b', 'c', 'd', 'e'],
      maxNodes,
      evictionsOf: evictions(table),
      budgets: budgets(limits),
    });
    expect(batches.map((b) => b.nodes)).toEqual(expected);
    expect(batches.every((b) => b.respectsBudgets)).toBe(true);
  });

  it('lets a node that overflows a budget share a batch only with nodes that do not touch it', () => {
    const batches = buildBatches({
      nodes: ['a', 'b', 'c'],
      maxNodes: 3,
      evictionsOf: evictions({ a: { 'app/web': 2 }, b: { 'app/web': 1 } }),
      budgets: budgets({ 'app/web': 1 }),
    });
    expect(batches.map((b) => [b.nodes, b.respectsBudgets])).toEqual([
      [['a', 'c'], false],
      [['b'], true],
    ]);
    expect(batches[0]!.reasons).toContainEqual({
      kind: 'budget-exceeded-alone',
      node: 'a',
      budget: 'app/web',
      pods: 2,
      allowed: 1,
    });
  });

  it('gives a node that a budget allowing nothing covers a batch of its own, and says why', () => {
    const batches = buildBatches({
      nodes: ['a', 'b', 'c'],
      maxNodes: 3,
      evictionsOf: evictions({ b: { 'db/pg': 1 } }),
      budgets: budgets({ 'db/pg': 0 }),
    });
    expect(batches.map((b) => b.nodes)).toEqual([['a', 'c'], ['b']]);
    expect(batches[1]!.respectsBudgets).toBe(false);
    expect(batches[1]!.reasons).toEqual([
      { kind: 'alone', node: 'b' },
      { kind: 'budget-blocks-drain', node: 'b', budget: 'db/pg', pods: 1, allowed: 0 },
    ]);
  });

  it('explains deferred nodes and the budget use of each batch', () => {
    const batches = buildBatches({
      nodes: ['a', 'b'],
      maxNodes: 2,
      evictionsOf: evictions({ a: { 'app/web': 1 }, b: { 'app/web': 1 } }),
      budgets: budgets({ 'app/web': 1 }),
    });
    expect(batches[0]!.reasons).toEqual([
      { kind: 'constrained', nodes: 1, limit: 'maxUnavailable 2' },
      { kind: 'deferred-for-budget', node: 'b', budget: 'app/web', evicted: 2, allowed: 1 },
      { kind: 'budget-use', usage: [{ budget: 'app/web', evicted: 1, allowed: 1 }] },
    ]);
    expect(batches[0]!.reasons.map(describeReason)).toEqual([
      '1 node(s): less than maxUnavailable 2 because of the constraints below',
      'b deferred: with it, the batch would evict 2 pods of app/web, which allows 1',
      'budget use: app/web 1/1',
    ]);
  });

  it('keeps batches small enough for the pods to fit elsewhere', () => {
    const batches = buildBatches({
      nodes: ['a', 'b', 'c', 'd'],
      maxNodes: 4,
      evictionsOf: () => new Map(),
      budgets: new Map(),
      fits: (nodes) => nodes.length <= 2,
    });
    expect(batches.map((b) => b.nodes)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });
});

describe('lower bound', () => {
  it('is the worked example of lower-bound.ts', () => {
    const bound = poolLowerBound({
      pool: 'workers',
      nodes: 10,
      maxNodes: 3,
      roundSeconds: 540,
      budgets: [{ budget: 'app/web', nodes: 6, allowed: 1 }],
    });
    expect(bound).toMatchObject({ rounds: 6, roundsByMaxUnavailable: 4, seconds: 3240 });
    expect(bound.tightestBudget).toEqual({ budget: 'app/web', nodes: 6, allowed: 1, rounds: 6 });
  });

  it('adds pools up, and flags budgets that allow nothing', () => {
    const bound = lowerBound([
      { pool: 'a', nodes: 4, maxNodes: 2, roundSeconds: 100, budgets: [] },
      {
        pool: 'b',
        nodes: 3,
        maxNodes: 3,
        roundSeconds: 100,
        budgets: [{ budget: 'x/y', nodes: 2, allowed: 0 }],
      },
    ]);
    expect(bound.rounds).toBe(4);
    expect(bound.seconds).toBe(400);
    expect(bound.pools[1]!.budgetAllowsNone).toBe(true);
  });
});

/**
 * The order a pool's nodes are expected to flow in (plan/flow-order.ts): nodes sharing a budget kept apart
 * by the in-flight cap where some order can, the tightest budgets first, blocked and unfitting nodes last,
 * and a reason for each node moved.
 */
import { describe, expect, it } from 'vitest';
import { type BudgetLimit, type FlowOrderInput, flowOrder } from '../../src/plan/flow-order.ts';
import type { NodeReason } from '../../src/plan/reasons.ts';
import { seededRandom } from '../fixtures/snapshots/synthetic-cluster.ts';

type Table = Record<string, Record<string, number>>;

/** A pool from a table of node → budget → pods its drain evicts, and what each budget allows. */
function pool(
  table: Table,
  allowed: Record<string, number>,
  maxInFlight: number,
  fitsAlone?: (node: string) => boolean,
): FlowOrderInput {
  const evictions = new Map(Object.entries(table).map(([n, e]) => [n, new Map(Object.entries(e))]));
  const budgets = new Map<string, BudgetLimit>(
    Object.entries(allowed).map(([key, a]) => [key, { key, allowed: a }]),
  );
  return {
    nodes: Object.keys(table),
    maxInFlight,
    evictionsOf: (n) => evictions.get(n) ?? new Map(),
    budgets,
    ...(fitsAlone ? { fitsAlone } : {}),
  };
}

const ofKind = <K extends NodeReason['kind']>(reasons: NodeReason[], kind: K) =>
  reasons.filter((r): r is Extract<NodeReason, { kind: K }> => r.kind === kind);

/**
 * Windows of `maxInFlight` consecutive nodes in which two or more nodes evict pods of one budget, more than
 * it allows: draining them at once would wait. A node exceeding a budget on its own is not counted (no
 * order helps it).
 */
function crowdedWindows(order: readonly string[], input: FlowOrderInput): number {
  let crowded = 0;
  const w = Math.max(1, input.maxInFlight);
  for (let end = 1; end <= order.length; end++) {
    const window = order.slice(Math.max(0, end - w), end);
    const pods = new Map<string, number>();
    const touching = new Map<string, number>();
    for (const n of window)
      for (const [k, c] of input.evictionsOf(n)) {
        if (c <= 0) continue;
        pods.set(k, (pods.get(k) ?? 0) + c);
        touching.set(k, (touching.get(k) ?? 0) + 1);
      }
    for (const [k, c] of pods)
      if ((touching.get(k) ?? 0) > 1 && c > (input.budgets.get(k)?.allowed ?? 0)) {
        crowded++;
        break;
      }
  }
  return crowded;
}

/** Whether `node`'s evictions, beside those of `before`, exceed a budget that `before` already draws on. */
function clashes(node: string, before: readonly string[], input: FlowOrderInput): boolean {
  for (const [k, c] of input.evictionsOf(node)) {
    const used = before.reduce((s, n) => s + (input.evictionsOf(n).get(k) ?? 0), 0);
    if (c > 0 && used > 0 && used + c > (input.budgets.get(k)?.allowed ?? 0)) return true;
  }
  return false;
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++)
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)]))
      yield [items[i]!, ...rest];
}

function someOrderUncrowded(nodes: readonly string[], input: FlowOrderInput): boolean {
  for (const p of permutations(nodes)) if (crowdedWindows(p, input) === 0) return true;
  return false;
}

describe('flowOrder', () => {
  it("takes the header's worked example: a, d, b, c", () => {
    const input = pool({ a: { web: 1 }, b: { web: 1 }, c: { web: 1 }, d: {} }, { web: 1 }, 2);
    const order = flowOrder(input);
    expect(order.nodes).toEqual(['a', 'd', 'b', 'c']);
    expect(order.reasons).toEqual([
      { kind: 'moved-later', node: 'b', budget: 'web', beside: 'a' },
      { kind: 'moved-later', node: 'c', budget: 'web', beside: 'a' },
    ]);
    expect(order.respectsBudgets).toBe(true);
    expect(order.fitsCapacity).toBe(true);
  });

  it('puts nodes whose drain a budget blocks last, with a budget-blocks-drain reason', () => {
    const input = pool({ a: { db: 1 }, b: {}, c: { db: 2, web: 1 }, d: {} }, { db: 0, web: 1 }, 2);
    const order = flowOrder(input);
    expect(order.nodes.slice(-2).sort()).toEqual(['a', 'c']);
    expect(ofKind(order.reasons, 'budget-blocks-drain')).toEqual([
      { kind: 'budget-blocks-drain', node: 'a', budget: 'db', pods: 1, allowed: 0 },
      { kind: 'budget-blocks-drain', node: 'c', budget: 'db', pods: 2, allowed: 0 },
    ]);
    expect(order.respectsBudgets).toBe(false);
  });

  it('does not send a node exceeding a budget allowing some on its own to the end (its budget is the tightest), and says so', () => {
    const input = pool({ a: {}, b: { web: 3 }, c: {} }, { web: 1 }, 1);
    const order = flowOrder(input);
    expect(order.nodes).toEqual(['b', 'a', 'c']);
    expect(order.reasons).toEqual([
      { kind: 'budget-exceeded-alone', node: 'b', budget: 'web', pods: 3, allowed: 1 },
    ]);
    expect(order.respectsBudgets).toBe(false);
  });

  it('puts nodes whose pods do not fit near the end, before the blocked ones', () => {
    const input = pool(
      { a: {}, b: {}, c: { db: 1 }, d: {}, e: {} },
      { db: 0 },
      2,
      (n) => n !== 'b' && n !== 'd',
    );
    const order = flowOrder(input);
    expect(order.nodes).toEqual(['a', 'e', 'b', 'd', 'c']);
    expect(ofKind(order.reasons, 'does-not-fit')).toEqual([
      { kind: 'does-not-fit', node: 'b' },
      { kind: 'does-not-fit', node: 'd' },
    ]);
    expect(order.fitsCapacity).toBe(false);
  });

  it('lists a node that is both blocked and does not fit once, among the blocked ones at the very end', () => {
    const input = pool({ a: { db: 1 }, b: {}, c: {} }, { db: 0 }, 1, (n) => n !== 'a' && n !== 'b');
    const order = flowOrder(input);
    expect(order.nodes).toEqual(['c', 'b', 'a']);
  });

  it('keeps the tightest-first order with one node in flight: nothing to keep apart', () => {
    // tight: 3 pods, allows 1 (3 per disruption); loose: 2 pods, allows 2 (1 per disruption).
    const input = pool(
      {
        free: {},
        loose1: { loose: 1 },
        tight1: { tight: 1 },
        loose2: { loose: 1 },
        tight2: { tight: 1 },
        tight3: { tight: 1 },
      },
      { tight: 1, loose: 2 },
      1,
    );
    const order = flowOrder(input);
    expect(order.nodes).toEqual(['tight1', 'tight2', 'tight3', 'loose1', 'loose2', 'free']);
    expect(order.reasons).toEqual([]);
  });

  it('names at most 20 nodes moved later and counts the rest', () => {
    const table: Table = {};
    for (let i = 0; i < 30; i++) table[`web-${i}`] = { web: 1 };
    for (let i = 0; i < 30; i++) table[`free-${i}`] = {};
    const order = flowOrder(pool(table, { web: 1 }, 2));
    const moved = ofKind(order.reasons, 'moved-later');
    expect(moved).toHaveLength(20);
    expect(new Set(moved.map((r) => r.node)).size).toBe(20);
    // web-1 … web-29 all wait behind web-0 when free-0 goes second: 29 moved, 20 named, 9 counted.
    expect(ofKind(order.reasons, 'more-moved-later')).toEqual([{ kind: 'more-moved-later', nodes: 9 }]);
    expect(crowdedWindows(order.nodes, pool(table, { web: 1 }, 2))).toBe(0);
  });

  // The greedy alone takes the first node that fits beside the window and never looks ahead, so it spent
  // the nodes that could have kept two others apart: n3 and n4 (the tightest budgets, each alone on its
  // budget) first, then n0; n1 then had to go within 3 of n0 and b1 (allows 2) saw 3 evictions at once.
  // The look-ahead finds n0, n3, n4, n1, n2 or another order keeping them apart.
  const spentSpacers = pool(
    { n0: { b1: 2 }, n1: { b1: 1 }, n2: {}, n3: { b2: 2 }, n4: { b0: 2 } },
    { b0: 1, b1: 2, b2: 1 },
    3,
  );
  it('(the pool below has an uncrowded order)', () => {
    expect(crowdedWindows(['n0', 'n3', 'n4', 'n1', 'n2'], spentSpacers)).toBe(0);
  });
  it('keeps nodes apart even when the greedy would spend the spacers early (seed 4738)', () => {
    const order = flowOrder(spentSpacers);
    expect(crowdedWindows(order.nodes, spentSpacers)).toBe(0);
    // The closest to the preferred order (tightest first) that keeps them apart; n4 waits for the look-ahead,
    // not beside anything, so only n1 has a reason.
    expect(order.nodes).toEqual(['n3', 'n0', 'n4', 'n2', 'n1']);
    expect(ofKind(order.reasons, 'moved-later')).toEqual([
      { kind: 'moved-later', node: 'n1', budget: 'b1', beside: 'n0' },
    ]);
  });

  const SEEDS = Array.from({ length: 40 }, (_, i) => 2000 + i);

  /** A small random pool: up to 7 nodes, 3 budgets allowing 0–2, some nodes whose pods do not fit. */
  function randomPool(seed: number): FlowOrderInput {
    const random = seededRandom(seed);
    const budgets = ['b0', 'b1', 'b2'];
    const allowed = Object.fromEntries(budgets.map((b) => [b, Math.floor(random() * 3)]));
    const table: Table = {};
    const count = 2 + Math.floor(random() * 6);
    for (let i = 0; i < count; i++)
      table[`n${i}`] = Object.fromEntries(
        budgets.filter(() => random() < 0.4).map((b) => [b, 1 + Math.floor(random() * 2)]),
      );
    const unfit = new Set(Object.keys(table).filter(() => random() < 0.15));
    return pool(table, allowed, 1 + Math.floor(random() * 4), (n) => !unfit.has(n));
  }

  describe.each(SEEDS)('random pool, seed %i', (seed) => {
    const input = randomPool(seed);
    const order = flowOrder(input);
    const blocked = input.nodes.filter((n) =>
      [...input.evictionsOf(n)].some(([k, c]) => c > 0 && (input.budgets.get(k)?.allowed ?? 0) <= 0),
    );
    const unfit = input.nodes.filter((n) => !input.fitsAlone!(n) && !blocked.includes(n));
    const main = input.nodes.filter((n) => !blocked.includes(n) && !unfit.includes(n));

    it('is a permutation of the pool', () => {
      expect([...order.nodes].sort()).toEqual([...input.nodes].sort());
    });

    it('puts the blocked nodes last and the unfitting ones just before them, each with its reason', () => {
      expect(order.nodes.slice(main.length, main.length + unfit.length).sort()).toEqual([...unfit].sort());
      expect(order.nodes.slice(main.length + unfit.length).sort()).toEqual([...blocked].sort());
      for (const n of blocked)
        expect(ofKind(order.reasons, 'budget-blocks-drain').some((r) => r.node === n)).toBe(true);
      for (const n of input.nodes.filter((x) => !input.fitsAlone!(x)))
        expect(ofKind(order.reasons, 'does-not-fit').some((r) => r.node === n)).toBe(true);
      expect(order.respectsBudgets).toBe(
        blocked.length === 0 && ofKind(order.reasons, 'budget-exceeded-alone').length === 0,
      );
    });

    it('lets two nodes sharing a budget into one in-flight window only when no node left could go instead', () => {
      const head = order.nodes.slice(0, main.length);
      const w = Math.max(0, input.maxInFlight - 1);
      for (let i = 0; i < head.length; i++) {
        const before = head.slice(Math.max(0, i - w), i);
        if (!clashes(head[i]!, before, input)) continue;
        for (const later of head.slice(i + 1)) expect(clashes(later, before, input)).toBe(true);
      }
    });

    // Over 3,000 seeds the greedy alone missed 3 such orders (seed 4738 above); with the look-ahead, none.
    it('keeps nodes sharing a budget out of one in-flight window whenever some order can', () => {
      const head = order.nodes.slice(0, main.length);
      if (someOrderUncrowded(main, input)) expect(crowdedWindows(head, input)).toBe(0);
    });

    it('names, for each node moved later, an earlier node evicting pods of the same budget', () => {
      for (const r of ofKind(order.reasons, 'moved-later')) {
        expect(order.nodes.indexOf(r.beside)).toBeGreaterThanOrEqual(0);
        expect(order.nodes.indexOf(r.beside)).toBeLessThan(order.nodes.indexOf(r.node));
        expect(input.evictionsOf(r.beside).get(r.budget) ?? 0).toBeGreaterThan(0);
        expect(input.evictionsOf(r.node).get(r.budget) ?? 0).toBeGreaterThan(0);
      }
    });
  });
});

/**
 * The order in which a pool's nodes are expected to flow, and why: the plan shows it; the engine admits
 * each next node from the live cluster and may take another (engine/admission.ts).
 *
 * A node is out of service for a whole cycle (drain, then minutes of upgrade), but it holds a budget only
 * for the seconds between an eviction and the replacement pod being Ready. So nodes that share a budget may
 * well be in flight together; what costs time is two of them draining at the same moment, when one of them
 * waits. The order keeps nodes that share a budget apart by the in-flight cap where it can: among the nodes
 * left, the next is the first whose pods the budgets allow beside the evictions of the (maxInFlight − 1)
 * nodes just before it; when none is, the first node left goes anyway (its drain waits seconds for the
 * budget, which beats leaving its slot empty). Nodes of the tightest budgets start first, so the budget
 * that takes longest to work through starts earliest; nodes whose drain a budget blocks go last.
 *
 * Worked example: budget web allows 1 and has a pod on a, b and c; d has none; maxInFlight 2.
 * a goes first; b would evict web beside a, so d goes next; then b (beside d), then c: a, d, b, c.
 */
import type { NodeReason } from './reasons.ts';

export interface BudgetLimit {
  /** namespace/name */
  key: string;
  /** Evictions allowed at once (the budget's current disruptionsAllowed). */
  allowed: number;
}

export interface FlowOrderInput {
  /** The pool's nodes in the order they should go when nothing says otherwise. */
  nodes: readonly string[];
  maxInFlight: number;
  /** Healthy pods the drain of a node evicts, per budget key. */
  evictionsOf: (node: string) => ReadonlyMap<string, number>;
  budgets: ReadonlyMap<string, BudgetLimit>;
  /** Whether the node's pods fit on the other nodes; omit to ignore capacity. */
  fitsAlone?: (node: string) => boolean;
}

export interface FlowOrder {
  nodes: string[];
  /** Per node, why it is where it is or what its drain will meet (only nodes with something to say). */
  reasons: NodeReason[];
  /** False when a node's own pods exceed a budget (its drain waits for replacements, or for ever). */
  respectsBudgets: boolean;
  /** False when a node's pods do not fit on the other nodes. */
  fitsCapacity: boolean;
}

/** Reasons of kind moved-later are kept for this many nodes per pool; the rest are counted. */
const MOVED_REASONS = 20;

export function flowOrder(input: FlowOrderInput): FlowOrder {
  const window = Math.max(0, Math.floor(input.maxInFlight) - 1);
  const reasons: NodeReason[] = [];
  const last: string[] = [];
  const blocked: string[] = [];
  let respectsBudgets = true;
  let fitsCapacity = true;
  for (const node of input.nodes) {
    for (const [key, pods] of input.evictionsOf(node)) {
      const budget = input.budgets.get(key);
      if (!budget || pods <= budget.allowed) continue;
      respectsBudgets = false;
      if (budget.allowed <= 0) {
        reasons.push({ kind: 'budget-blocks-drain', node, budget: key, pods, allowed: budget.allowed });
        if (!blocked.includes(node)) blocked.push(node);
      } else
        reasons.push({ kind: 'budget-exceeded-alone', node, budget: key, pods, allowed: budget.allowed });
    }
    if (input.fitsAlone && !input.fitsAlone(node)) {
      fitsCapacity = false;
      reasons.push({ kind: 'does-not-fit', node });
      if (!last.includes(node)) last.push(node);
    }
  }
  const atTheEnd = new Set([...blocked, ...last]);
  let left = tightestFirst(
    input.nodes.filter((n) => !atTheEnd.has(n)),
    input,
  );
  const order: string[] = [];
  const moved = new Set<string>();
  let movedUntold = 0;
  while (left.length > 0) {
    const recent = order.slice(Math.max(0, order.length - window));
    const usage = new Map<string, number>();
    for (const n of recent)
      for (const [key, pods] of input.evictionsOf(n)) usage.set(key, (usage.get(key) ?? 0) + pods);
    let pick = left.findIndex((n) => clash(n, usage, input) === undefined);
    if (pick < 0) pick = 0;
    for (const passed of left.slice(0, pick)) {
      if (moved.has(passed)) continue;
      moved.add(passed);
      if (moved.size > MOVED_REASONS) {
        movedUntold++;
        continue;
      }
      const key = clash(passed, usage, input)!;
      const beside = recent.find((n) => (input.evictionsOf(n).get(key) ?? 0) > 0) ?? recent[0]!;
      reasons.push({ kind: 'moved-later', node: passed, budget: key, beside });
    }
    order.push(left[pick]!);
    left = [...left.slice(0, pick), ...left.slice(pick + 1)];
  }
  if (movedUntold > 0) reasons.push({ kind: 'more-moved-later', nodes: movedUntold });
  return {
    nodes: [...order, ...last.filter((n) => !blocked.includes(n)), ...blocked],
    reasons,
    respectsBudgets,
    fitsCapacity,
  };
}

/** The first budget whose evictions, with `node`'s, would exceed what it allows; undefined when none. */
function clash(node: string, usage: ReadonlyMap<string, number>, input: FlowOrderInput): string | undefined {
  for (const [key, pods] of input.evictionsOf(node)) {
    const budget = input.budgets.get(key);
    const used = usage.get(key) ?? 0;
    if (!budget || pods === 0 || used === 0) continue;
    if (used + pods > budget.allowed) return key;
  }
  return undefined;
}

/**
 * Nodes of the budgets whose pods take longest to work through (pods ÷ allowed) first; otherwise in the
 * order given (the sort is stable).
 */
function tightestFirst(nodes: readonly string[], input: FlowOrderInput): string[] {
  const pods = new Map<string, number>();
  for (const node of nodes)
    for (const [key, n] of input.evictionsOf(node)) pods.set(key, (pods.get(key) ?? 0) + n);
  const weight = (node: string): number => {
    let most = 0;
    for (const [key, n] of input.evictionsOf(node)) {
      const budget = input.budgets.get(key);
      if (!budget || n === 0 || budget.allowed <= 0) continue;
      most = Math.max(most, (pods.get(key) ?? 0) / budget.allowed);
    }
    return most;
  };
  const ranked = nodes.map((node, index) => ({ node, index, weight: weight(node) }));
  ranked.sort((a, b) => b.weight - a.weight || a.index - b.index);
  return ranked.map((r) => r.node);
}

/**
 * One pool's nodes (or its canary) as waves: how many may be in flight (the pool's limit, lowered where the
 * pods would not fit), the order the flow is expected to take (flow-order.ts), the cuts between waves, each
 * wave's estimate, and the pool's input to the lower bound.
 */

import { type CapacityModel, formatBytes, formatCpu, type Resources } from '../core/index.ts';
import { type BudgetLimit, flowOrder } from './flow-order.ts';
import { type PoolBoundInput, poolLowerBound } from './lower-bound.ts';
import type { NodeWaveStep } from './plan-types.ts';
import type { NodeStrategy } from './policy.ts';
import { describeReason, isBudgetWarning } from './reasons.ts';

export interface PoolWavesInput {
  pool: string;
  /** Nodes to upgrade, in the pool's order. */
  nodes: readonly string[];
  kind: 'canary' | 'node-wave';
  /** Step ids are `<idPrefix>-001`, `-002`, … */
  idPrefix: string;
  /** The pool's name in the lower bound (a canary is told apart from the rest of its pool). */
  boundName: string;
  version: string;
  /** The pool's in-flight limit, and how the policy says it ("maxUnavailable 2"). */
  maxNodes: number;
  limitName: string;
  strategy: NodeStrategy;
  /** The pool's maxSurge and maxUnavailable as counts (surge: new nodes first, then old ones out). */
  surge: number;
  unavailable: number;
  /** blue-green: the final soak, given for the waves that end the pool (its last wave gets it). */
  finalSoakSeconds?: number;
  waveSize: number;
  soakSeconds: number;
  /** A node's expected cycle: its drain and its upgrade, one provider call per minor it is behind. */
  cycleOf: (node: string) => number;
  /**
   * A node's cycle at its fastest, for the lower bound: the fastest drain an earlier run measured (none
   * without one), then its upgrade and return to Ready (what budgets make a drain wait is the bound's budget
   * term).
   */
  fastestCycleOf: (node: string) => number;
  /**
   * What comes before the first node can go, once for these nodes: blue-green's green pool booting, as the
   * plan expects it (added to the first wave's estimate) and at its fastest (added to the bound).
   */
  setupSeconds?: { expected: number; fastest: number };
  podStartupSeconds: number;
  evictionsOf: (node: string) => ReadonlyMap<string, number>;
  budgets: ReadonlyMap<string, BudgetLimit>;
  capacity: CapacityModel;
  /** Room that surge nodes add. */
  extra: Resources;
}

export interface PoolWaves {
  steps: NodeWaveStep[];
  bound: PoolBoundInput;
  warnings: string[];
}

export function poolWaves(input: PoolWavesInput): PoolWaves {
  const { pool, nodes, kind, version: v, capacity, extra } = input;
  const warnings: string[] = [];
  const limit = Math.min(input.maxNodes, nodes.length);
  const maxInFlight = capacity.maxInFlightThatFits(nodes, limit, extra);
  if (maxInFlight < limit)
    warnings.push(
      `pool ${pool}: only ${maxInFlight} of the ${limit} nodes ${input.limitName} allows can be out at once: more would leave pods without room`,
    );
  const order = flowOrder({
    nodes,
    maxInFlight,
    evictionsOf: input.evictionsOf,
    budgets: input.budgets,
    fitsAlone: (n) => capacity.check([n], extra).fits,
  });
  for (const r of order.reasons.filter(isBudgetWarning)) warnings.push(`pool ${pool}: ${describeReason(r)}`);
  if (!order.fitsCapacity)
    warnings.push(`pool ${pool}: some nodes' pods do not fit elsewhere (see its waves)`);

  const steps: NodeWaveStep[] = [];
  for (let from = 0; from < order.nodes.length; from += input.waveSize) {
    const wave = order.nodes.slice(from, from + input.waveSize);
    const inWave = new Set(wave);
    const inFlight = Math.min(maxInFlight, wave.length);
    // Note: the lower bound's rule over the cycles the plan expects: the wave's node cycles, or its budgets'
    // evictions one replacement after another when those take longer.
    const { seconds: waveSeconds } = poolLowerBound({
      pool,
      nodes: wave.length,
      maxInFlight: inFlight,
      ...(from === 0 && input.setupSeconds ? { setupSeconds: input.setupSeconds.expected } : {}),
      ...cycles(wave, input.cycleOf),
      podStartupSeconds: input.podStartupSeconds,
      budgets: budgetPods(wave, input.evictionsOf, input.budgets),
    });
    const allowed = Math.min(limit, wave.length);
    const short = allowed > inFlight ? capacity.shortfallOf(nodes, allowed, extra) : undefined;
    const pace = `${inFlight === 1 ? 'one node at a time' : `up to ${inFlight} nodes in flight`} (${input.limitName}${maxInFlight < limit ? ', fewer for capacity' : ''}${short ? `: with ${allowed} out, their pods would lack ${describeShort(short)} on the rest` : ''})`;
    const blueGreen = input.strategy === 'blue-green';
    const surge = input.strategy === 'surge' || blueGreen;
    const last = from + input.waveSize >= order.nodes.length;
    const finalSoak = blueGreen && last ? input.finalSoakSeconds : undefined;
    steps.push({
      id: `${input.idPrefix}-${String(steps.length + 1).padStart(3, '0')}`,
      kind,
      title: blueGreen
        ? `${kind === 'canary' ? 'Canary: drain' : 'Drain'} ${wave.length === 1 ? wave[0] : `${wave.length} blue nodes`} (${pool}) onto the green nodes at ${v}${inFlight > 1 ? `, ${inFlight} at a time` : ''}`
        : `${kind === 'canary' ? `Canary: ${surge ? 'replace' : 'upgrade'}` : surge ? 'Replace' : 'Upgrade'} ${wave.length === 1 ? wave[0] : `${wave.length} nodes`} (${pool}) ${surge ? 'with new nodes at' : 'to'} ${v}${inFlight > 1 ? `, ${inFlight} at a time` : ''}`,
      version: v,
      pool,
      nodes: wave,
      maxInFlight: inFlight,
      reasons: [
        `${pace}${wave.length > 1 ? '; the next is admitted the moment one finishes, chosen from the live budgets' : ''}`,
        ...(blueGreen
          ? [
              `blue-green: the green pool (a new node at ${v} for each blue one) is created and Ready and every blue node cordoned before the first drain; drained blue nodes are held${finalSoak !== undefined ? `, then, after this last wave, soaked ${finalSoak}s with the gates watching and deleted` : ' until the pool’s final soak ends'}`,
            ]
          : surge
            ? [replacementReason(input.surge, input.unavailable)]
            : []),
        ...order.reasons.filter((r) => !('node' in r) || inWave.has(r.node)),
      ],
      checks: waveChecks(v),
      rollback: waveRollback(input.strategy),
      estimateSeconds: waveSeconds + input.soakSeconds + (finalSoak ?? 0),
      soakSeconds: input.soakSeconds,
      respectsBudgets: order.respectsBudgets,
      fitsCapacity: order.fitsCapacity,
      ...(short ? { capacityHold: { allowed, short } } : {}),
      ...(surge
        ? {
            replacement: {
              maxSurge: input.surge,
              maxUnavailable: input.unavailable,
              ...(blueGreen ? { blueGreen: true as const } : {}),
              ...(finalSoak !== undefined ? { finalSoakSeconds: finalSoak } : {}),
            },
          }
        : {}),
    });
  }
  const bound: PoolBoundInput = {
    pool: input.boundName,
    nodes: nodes.length,
    maxInFlight,
    capacityLimited: maxInFlight < limit,
    ...(input.setupSeconds ? { setupSeconds: input.setupSeconds.fastest } : {}),
    ...cycles(nodes, input.fastestCycleOf),
    podStartupSeconds: input.podStartupSeconds,
    budgets: budgetPods(nodes, input.evictionsOf, input.budgets),
  };
  return { steps, bound, warnings };
}

/** "2500m CPU, 3Gi of memory (12 pod(s) to place)": what is short, in a reason's words. */
function describeShort(short: Resources): string {
  const parts = [
    short.cpuMillis > 0 ? `${formatCpu(short.cpuMillis / 1000)} CPU` : '',
    short.memoryBytes > 0 ? `${formatBytes(short.memoryBytes)} of memory` : '',
  ].filter(Boolean);
  return `${parts.join(', ') || 'pod slots'} (${short.pods} pod(s) to place)`;
}

/** The nodes' shortest cycle, and their sum and longest when they differ (see lower-bound.ts). */
function cycles(
  nodes: readonly string[],
  cycleOf: (node: string) => number,
): Pick<PoolBoundInput, 'cycleSeconds' | 'totalCycleSeconds' | 'longestCycleSeconds'> {
  const each = nodes.map(cycleOf);
  const shortest = each.length > 0 ? Math.min(...each) : 0;
  const longest = each.length > 0 ? Math.max(...each) : 0;
  if (longest === shortest) return { cycleSeconds: shortest };
  return {
    cycleSeconds: shortest,
    totalCycleSeconds: each.reduce((a, b) => a + b, 0),
    longestCycleSeconds: longest,
  };
}

/** Healthy pods of each budget on these nodes, with what the budget allows. */
function budgetPods(
  nodes: readonly string[],
  evictionsOf: (node: string) => ReadonlyMap<string, number>,
  budgets: ReadonlyMap<string, BudgetLimit>,
): PoolBoundInput['budgets'] {
  const pods = new Map<string, number>();
  for (const n of nodes)
    for (const [key, count] of evictionsOf(n)) pods.set(key, (pods.get(key) ?? 0) + count);
  return [...pods].map(([budget, count]) => ({
    budget,
    pods: count,
    allowed: budgets.get(budget)?.allowed ?? 0,
  }));
}

/** What the engine's wave gate (engine/wave-gate.ts) waits for, and nothing it does not. */
function waveChecks(v: string): string[] {
  return [
    `each node is Ready with kubelet ${v} and uncordoned`,
    'no pod in the drained namespaces left Pending beyond the grace period',
    'every Deployment in the drained namespaces has its replicas available again (unless it was short before the wave)',
  ];
}

/** How a surge wave replaces its nodes, in the words of the step's reasons. */
function replacementReason(surge: number, unavailable: number): string {
  const first =
    surge > 0
      ? `up to ${surge} new node(s) at the version are created and Ready before an old one is cordoned`
      : '';
  const out =
    unavailable > 0
      ? `up to ${unavailable} old node(s) may go first, each replaced once deleted`
      : "capacity never drops below the pool's size (maxUnavailable 0)";
  return `surge: ${[first, out].filter(Boolean).join('; ')}; each old node is drained, then deleted`;
}

function waveRollback(strategy: NodeStrategy): string {
  if (strategy === 'blue-green')
    return 'until the final soak ends the blue nodes are kept: `midflight rollback` uncordons them, drains the green nodes back and deletes them';
  if (strategy === 'surge')
    return "the old nodes are deleted once drained: roll back by replacing again at the old version (a new plan); before an old node's deletion, resume or abort leaves it uncordoned";
  return strategy === 'replace'
    ? 'cordon the new nodes and scale the old node group back up; delete the new nodes once pods moved back'
    : "reinstall the previous kubelet on the wave's nodes (`midflight rollback`; same minor as the control plane allows), then uncordon";
}

/**
 * rehearse: N rehearsal runs of an upgrade on copies of a cluster, and the report a team reads before its
 * maintenance window (docs/rehearse.md documents every field of the JSON form).
 */
import {
  budgetStatesOf,
  type ClusterSnapshot,
  clusterModelOf,
  formatVersion,
  isEvictable,
  type KubeVersion,
  podKey,
  windowStateAt,
} from '../core/index.ts';
import { isNodeWave, type Plan, type Policy } from '../plan/index.ts';
import { seededRandom } from '../sandbox/create-context.ts';
import { peerName } from './peer-run.ts';
import { type RehearsalRunResult, rehearseOnce } from './rehearsal-run.ts';
import { JITTER, type RehearsalTimings, simTimingOf, type TimingSource } from './rehearsal-timing.ts';

export const REHEARSAL_REPORT_VERSION = 1;

export interface RehearseOptions {
  snapshot: ClusterSnapshot;
  target: KubeVersion;
  policy: Policy;
  timings: RehearsalTimings;
  runs: number;
  seed: number;
  /** Epoch ms the rehearsal is made at: the run starts at the next maintenance window from here. */
  now: number;
  /** Told after each run (the CLI's progress line). */
  onRun?: (index: number, result: RehearsalRunResult) => void;
  /**
   * Rehearse a loop people run today (peer-run.ts), N nodes at a time with `kubectl drain` semantics, instead
   * of Midflight's engine: `rehearse --compare` sets it.
   */
  peer?: { concurrency: number };
}

export interface Spread {
  medianSeconds: number;
  p90Seconds: number;
}

export interface RehearsalReport {
  version: typeof REHEARSAL_REPORT_VERSION;
  cluster: { server: string; version: string; nodes: number; pods: number };
  target: string;
  runs: number;
  seed: number;
  timings: Record<keyof RehearsalTimings, { seconds: number; source: TimingSource }>;
  /** "finishes": every run succeeded; otherwise why not (the first failing run's reason). */
  outcome: { finishes: boolean; runsSucceeded: number; reason?: string };
  /** Over the runs that reached their end (succeeded, or incomplete with nodes left behind); null when none did. */
  total: Spread | null;
  nodePhase: Spread | null;
  /**
   * The plan's node phase for this cluster and policy: its estimate, and the least any run of this
   * rehearsal can take (the plan's lower bound with the rehearsed timings at their fastest, less JITTER);
   * null for a peer (`--compare`), which follows no plan.
   */
  plan: { nodePhaseEstimateSeconds: number; nodePhaseLowerBoundSeconds: number } | null;
  phases: Array<{ name: string; kind: string } & Spread>;
  /** The first maintenance window the run would start in; null when the policy has none. */
  window: { opensAt: string; seconds: number; fits: boolean | null } | null;
  /** Budgets that held drains back, longest first: clock seconds summed over nodes (median over runs). */
  blockingBudgets: Array<{ budget: string; medianSeconds: number; nodes: string[] }>;
  /** Budgets that can never allow an eviction: drains of their nodes cannot finish. */
  deadlocks: Array<{ budget: string; rule: string; expectedPods: number; pods: string[]; nodes: string[] }>;
  /**
   * Single-replica Deployments and StatefulSets ("Kind namespace/name") with no Ready replica during the
   * upgrade: clock seconds down (median and p90 over the runs, 0 in runs where it was not down).
   */
  singleReplicaDowntime: Array<{ workload: string } & Spread>;
  /**
   * Where the pods evicted from the nodes in flight do not fit the rest, per pool (docs/rehearse.md):
   * `held`, the plan lets only `inFlight` of the `allowed` nodes out at once because their pods would lack
   * room; `pending`, pods the copy could not place while the pool's nodes were in flight. `pods`,
   * `cpuMillis`, `memoryBytes`: what is short; the spread: clock seconds it lasted.
   */
  capacityShortfalls: CapacityShortfall[];
  /** Disruption-budget violations the copy recorded, the most in one run (the engine's promise: 0). */
  violations: number;
  /** Nodes not upgraded in some run, with the reason of the first such run. */
  nodesNotUpgraded: Array<{ node: string; runs: number; reason: string }>;
  /**
   * Each node's span in the first run (clock seconds from the run's start, to when it was done, set aside or
   * failed; `endSeconds` null when it never ended), in the order the run started them.
   */
  timeline: Array<{ node: string; startSeconds: number; endSeconds: number | null }>;
  /** What the rehearsal leaves out or approximates. */
  notes: string[];
  wallSeconds: number;
}

export type CapacityShortfall = {
  pool: string;
  cause: 'held' | 'pending';
  /** held: the nodes in flight at once, and what maxUnavailable allows. */
  inFlight?: number;
  allowed?: number;
  pods: number;
  cpuMillis: number;
  memoryBytes: number;
} & Spread;

export async function rehearse(options: RehearseOptions): Promise<RehearsalReport> {
  const wallStart = performance.now();
  const { snapshot, policy } = options;
  const windowState = windowStateAt(policy.maintenanceWindows, options.now);
  const startAt = windowState.open ? options.now : windowState.opensAt;
  const opened = Number.isFinite(startAt) ? windowStateAt(policy.maintenanceWindows, startAt) : undefined;
  const windowMs =
    policy.maintenanceWindows.length > 0 && opened?.open ? opened.closesAt - startAt : undefined;
  const random = seededRandom(options.seed);
  const results: RehearsalRunResult[] = [];
  for (let i = 0; i < options.runs; i++) {
    const result = await rehearseOnce({
      snapshot,
      target: options.target,
      policy,
      timing: simTimingOf(options.timings, random),
      seed: options.seed + i,
      startAt: Number.isFinite(startAt) ? startAt : options.now,
      clockLimitMs: options.peer ? peerClockLimitMs(options) : 7 * 24 * 3_600_000,
      ...(options.peer ? { peer: options.peer } : {}),
    });
    results.push(result);
    options.onRun?.(i, result);
  }

  const succeeded = results.filter((r) => r.state === 'succeeded');
  // Note: a run that left nodes behind (drain.onTimeout skip) still reached its end: its durations count.
  const ended = results.filter((r) => r.state === 'succeeded' || r.state === 'incomplete');
  const firstFailure = results.find((r) => r.state !== 'succeeded');
  const total = spreadOf(ended.map((r) => r.totalMs));
  const phaseNames = results[0]?.phases ?? [];
  const notes = [
    ...new Set(results.flatMap((r) => r.notes)),
    ...(options.peer
      ? [
          `${peerName(options.peer.concurrency)} with kubectl drain semantics (evictions refused by a budget retried every 5 s, no knowledge of budgets), as kured, kops rolling-update or system-upgrade-controller run it: worker nodes only, so the copy's control plane starts at the target and the run is the node phase; the nodes are upgraded by the sandbox itself; the policy's waves, canary, soaks and windows do not apply`,
        ]
      : ['health gates are not rehearsed (they read live signals); each wave ends on the kube-native gate']),
  ];
  return {
    version: REHEARSAL_REPORT_VERSION,
    cluster: {
      server: snapshot.server.url,
      version: snapshot.server.gitVersion,
      nodes: snapshot.nodes.length,
      pods: snapshot.pods.length,
    },
    target: formatVersion(options.target),
    runs: options.runs,
    seed: options.seed,
    timings: {
      nodeDrain: timingOut(options.timings.nodeDrain),
      nodeUpgrade: timingOut(options.timings.nodeUpgrade),
      podStartup: timingOut(options.timings.podStartup),
    },
    outcome: {
      finishes: succeeded.length === results.length,
      runsSucceeded: succeeded.length,
      ...(firstFailure
        ? { reason: `${firstFailure.state}: ${firstFailure.reason ?? 'no reason given'}` }
        : {}),
    },
    total,
    nodePhase: spreadOf(ended.flatMap((r) => (r.nodePhaseMs === undefined ? [] : [r.nodePhaseMs]))),
    plan: options.peer || !results[0] ? null : planFigures(results[0].plan),
    phases: phaseNames.flatMap((p, i) => {
      const spread = spreadOf(ended.flatMap((r) => r.phases[i]?.durationMs ?? []));
      return spread && p.status !== 'skipped' ? [{ name: p.name, kind: p.kind, ...spread }] : [];
    }),
    window:
      windowMs === undefined
        ? null
        : {
            opensAt: new Date(startAt).toISOString(),
            seconds: Math.round(windowMs / 1000),
            fits: total ? total.p90Seconds * 1000 <= windowMs : null,
          },
    blockingBudgets: blockingBudgets(results),
    deadlocks: deadlocksOf(snapshot, policy.poolLabel),
    singleReplicaDowntime: downtimeOf(results),
    capacityShortfalls: [...capacityHolds(results), ...pendingPods(results)],
    violations: Math.max(0, ...results.map((r) => r.violations)),
    nodesNotUpgraded: nodesNotUpgraded(results),
    timeline: (results[0]?.nodes ?? []).map((n) => ({
      node: n.node,
      startSeconds: Math.round(n.startMs / 1000),
      endSeconds: n.endMs === undefined ? null : Math.round(n.endMs / 1000),
    })),
    notes,
    wallSeconds: Math.round((performance.now() - wallStart) / 100) / 10,
  };
}

function timingOut(t: { ms: number; source: TimingSource }) {
  return { seconds: t.ms / 1000, source: t.source };
}

/**
 * The plan's node-phase estimate, and its lower bound as a floor for jittered runs.
 * Note: the bound's rule (plan/lower-bound.ts) is proportional to the node upgrade and pod start-up it is
 * given, up to its rounding to whole seconds, and the soaks added to it are not jittered; so the bound of a
 * run whose timings are all 20 % shorter is the bound's node part × 0.8, rounded down, plus the soaks.
 * Worked example: a bound of 600 s, 60 s of it soaks → ⌊540 × 0.8⌋ + 60 = 492 s.
 */
function planFigures(plan: Plan): NonNullable<RehearsalReport['plan']> {
  const { nodePhaseSeconds, nodePhaseLowerBoundSeconds, lowerBound } = plan.estimate;
  const soaks = nodePhaseLowerBoundSeconds - lowerBound.seconds;
  return {
    nodePhaseEstimateSeconds: nodePhaseSeconds,
    nodePhaseLowerBoundSeconds: Math.floor(lowerBound.seconds * (1 - JITTER)) + soaks,
  };
}

/**
 * How long a peer's run may go on: the loops wait forever on a budget that never allows an eviction (as
 * kubectl drain without --timeout does), retrying every 5 s, so a deadlock must end sooner than the engine's
 * day-long limit. An hour, and four node cycles (a drain and two upgrades) per node at its concurrency.
 */
function peerClockLimitMs(options: RehearseOptions): number {
  const cycleMs = options.timings.nodeDrain.ms + 2 * options.timings.nodeUpgrade.ms;
  return 3_600_000 + (options.snapshot.nodes.length * 4 * cycleMs) / options.peer!.concurrency;
}

/** Median and 90th percentile (nearest rank) in whole seconds; null for no values. */
export function spreadOf(valuesMs: readonly number[]): Spread | null {
  if (valuesMs.length === 0) return null;
  const sorted = [...valuesMs].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const mid = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { medianSeconds: Math.round(median / 1000), p90Seconds: Math.round(rank(0.9) / 1000) };
}

/**
 * Per budget, the median over runs of the clock it held drains (0 in runs where it held none), and every
 * node it held. The engine names a budget without its namespace: the blocked pod's is the budget's.
 */
function blockingBudgets(results: readonly RehearsalRunResult[]): RehearsalReport['blockingBudgets'] {
  const perBudget = new Map<string, { ms: number[]; nodes: Set<string> }>();
  results.forEach((r, run) => {
    for (const hold of r.holds) {
      const namespace = hold.pods[0]?.split('/')[0];
      const key = hold.budget.includes('/') || !namespace ? hold.budget : `${namespace}/${hold.budget}`;
      let entry = perBudget.get(key);
      if (!entry) {
        entry = { ms: new Array(results.length).fill(0), nodes: new Set() };
        perBudget.set(key, entry);
      }
      entry.ms[run]! += hold.ms;
      for (const n of hold.nodes) entry.nodes.add(n);
    }
  });
  return [...perBudget.entries()]
    .map(([budget, e]) => ({
      budget,
      medianSeconds: spreadOf(e.ms)!.medianSeconds,
      nodes: [...e.nodes].sort(),
    }))
    .filter((b) => b.medianSeconds > 0)
    .sort((a, b) => b.medianSeconds - a.medianSeconds || a.budget.localeCompare(b.budget));
}

/** The budgets whose rule forbids every eviction, from the real cluster: its pods and nodes by their real names. */
function deadlocksOf(snapshot: ClusterSnapshot, poolLabel: string | undefined): RehearsalReport['deadlocks'] {
  const model = clusterModelOf(snapshot, poolLabel);
  const out: RehearsalReport['deadlocks'] = [];
  for (const state of budgetStatesOf(model).values()) {
    if (!state.blocksByConstruction) continue;
    const pods = state.pods.filter((p) => p.spec.nodeName && isEvictable(p));
    if (pods.length === 0) continue;
    const spec = state.pdb.spec;
    out.push({
      budget: state.key,
      rule:
        spec.maxUnavailable !== undefined
          ? `maxUnavailable ${spec.maxUnavailable}`
          : `minAvailable ${spec.minAvailable ?? 1}`,
      expectedPods: state.expectedPods,
      pods: pods.map(podKey).sort(),
      nodes: [...new Set(pods.map((p) => p.spec.nodeName!))].sort(),
    });
  }
  return out.sort((a, b) => a.budget.localeCompare(b.budget));
}

/**
 * Waves the plan holds below maxUnavailable for capacity, per pool: the tightest hold and its shortfall (from
 * the first run's plan; every run plans the same copy) and, per run, how long the held waves' nodes were in
 * flight (first start to last end, summed over the pool's held waves).
 */
function capacityHolds(results: readonly RehearsalRunResult[]): CapacityShortfall[] {
  const held = new Map<string, Omit<CapacityShortfall, keyof Spread>>();
  for (const wave of (results[0]?.plan.phases ?? []).flatMap((p) => p.steps.filter(isNodeWave))) {
    const hold = wave.capacityHold;
    if (!hold) continue;
    const known = held.get(wave.pool);
    if (known && known.allowed! - known.inFlight! >= hold.allowed - wave.maxInFlight) continue;
    held.set(wave.pool, {
      pool: wave.pool,
      cause: 'held',
      inFlight: wave.maxInFlight,
      allowed: hold.allowed,
      ...hold.short,
    });
  }
  return [...held.values()].map((h) => {
    const ms = results.map((r) => {
      const times = new Map(r.nodes.map((n) => [n.node, n]));
      let total = 0;
      for (const wave of r.plan.phases.flatMap((p) => p.steps.filter(isNodeWave))) {
        if (wave.pool !== h.pool || !wave.capacityHold) continue;
        const spans = wave.nodes.flatMap((n) => times.get(n) ?? []);
        if (spans.length === 0) continue;
        const start = Math.min(...spans.map((t) => t.startMs));
        total += Math.max(...spans.map((t) => t.endMs ?? r.totalMs)) - start;
      }
      return total;
    });
    return { ...h, ...spreadOf(ms)! };
  });
}

/**
 * Pods the copy could not place, per pool in flight: the most at once over the runs, and how long (0 in runs
 * without); a pool whose pods waited under a second in nearly every run is left out.
 */
function pendingPods(results: readonly RehearsalRunResult[]): CapacityShortfall[] {
  const perPool = new Map<string, { most: Omit<CapacityShortfall, keyof Spread>; ms: number[] }>();
  results.forEach((r, run) => {
    for (const p of r.pending) {
      let entry = perPool.get(p.pool);
      if (!entry) {
        entry = {
          most: { pool: p.pool, cause: 'pending', pods: 0, cpuMillis: 0, memoryBytes: 0 },
          ms: new Array(results.length).fill(0),
        };
        perPool.set(p.pool, entry);
      }
      entry.most.pods = Math.max(entry.most.pods, p.pods);
      entry.most.cpuMillis = Math.max(entry.most.cpuMillis, p.cpuMillis);
      entry.most.memoryBytes = Math.max(entry.most.memoryBytes, p.memoryBytes);
      entry.ms[run] = p.ms;
    }
  });
  return [...perPool.values()]
    .map((e) => ({ ...e.most, ...spreadOf(e.ms)! }))
    .filter((e) => e.p90Seconds > 0)
    .sort((a, b) => b.medianSeconds - a.medianSeconds || a.pool.localeCompare(b.pool));
}

function nodesNotUpgraded(results: readonly RehearsalRunResult[]): RehearsalReport['nodesNotUpgraded'] {
  const byNode = new Map<string, { runs: number; reason: string }>();
  for (const r of results)
    for (const f of r.failed) {
      const entry = byNode.get(f.node) ?? { runs: 0, reason: f.reason };
      entry.runs++;
      byNode.set(f.node, entry);
    }
  return [...byNode.entries()]
    .map(([node, e]) => ({ node, ...e }))
    .sort((a, b) => a.node.localeCompare(b.node));
}

function downtimeOf(results: readonly RehearsalRunResult[]): RehearsalReport['singleReplicaDowntime'] {
  const perWorkload = new Map<string, number[]>();
  results.forEach((r, run) => {
    for (const d of r.downtimes) {
      let ms = perWorkload.get(d.workload);
      if (!ms) {
        ms = new Array(results.length).fill(0);
        perWorkload.set(d.workload, ms);
      }
      ms[run] = d.ms;
    }
  });
  return [...perWorkload.entries()]
    .map(([workload, ms]) => ({ workload, ...spreadOf(ms)! }))
    .sort((a, b) => b.medianSeconds - a.medianSeconds || a.workload.localeCompare(b.workload));
}

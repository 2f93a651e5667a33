/**
 * A cluster's measured node timings, from the runs the store holds for it: per pool, the median drain,
 * provider upgrade (per minor) and time to Ready of every node step that succeeded (and the fastest drain,
 * upgrade and time to Ready, for the plan's lower bound), in the cluster's clock.
 * `plan` uses them for the timings the policy does not set (plan/planner.ts).
 *
 * Note: only rows that went through every milestone count — a node already at the target, a node set
 * aside by drain.onTimeout, a surge replacement (no drain-then-upgrade of one node) or a row written
 * before milestones were timed says nothing about how long this cluster takes. Pod start-up is not
 * measured: the store does not see pods.
 */
import { type MeasuredTimings, median, type PoolMeasurement, parseVersion } from '../core/index.ts';
import type { NodeRowDetail } from './row-detail.ts';
import type { RunStore } from './run-store.ts';
import type { RunRecord, StepStateRecord } from './run-types.ts';

/** The node steps of a plan as its JSON text holds them: enough to know each node's pool and version. */
interface PlannedWave {
  id: string;
  kind: string;
  pool?: string;
  version?: string;
}

export interface RunHistory {
  run: Pick<RunRecord, 'planJson' | 'mode'>;
  rows: readonly StepStateRecord[];
}

/** Measured timings from earlier runs of one cluster; undefined when none measured a node. */
export function measuredTimings(history: readonly RunHistory[]): MeasuredTimings | undefined {
  const samples = new Map<
    string,
    { drain: number[]; upgrade: number[]; ready: number[]; runs: Set<number> }
  >();
  history.forEach(({ run, rows }, index) => {
    if (run.mode !== 'upgrade') return;
    const waves = wavesOf(run.planJson);
    for (const row of rows) {
      const wave = waves.get(row.stepId);
      if (row.node === '' || !wave?.pool || !wave.version || row.status !== 'done') continue;
      const d = row.detail as NodeRowDetail;
      if (d.alreadyAtTarget || d.replacement || d.deleted) continue;
      if (row.startedAt === undefined || d.drainedAt === undefined || d.upgradedAt === undefined) continue;
      const pool = samples.get(wave.pool) ?? { drain: [], upgrade: [], ready: [], runs: new Set() };
      samples.set(wave.pool, pool);
      pool.runs.add(index);
      pool.drain.push(d.drainedAt - row.startedAt);
      pool.upgrade.push((d.upgradedAt - d.drainedAt) / minorsUp(row.previousVersion, wave.version));
      if (d.verifiedAt !== undefined) pool.ready.push(d.verifiedAt - d.upgradedAt);
    }
  });
  if (samples.size === 0) return undefined;
  const pools: Record<string, PoolMeasurement> = {};
  const runs = new Set<number>();
  for (const [name, s] of [...samples].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const r of s.runs) runs.add(r);
    const seconds = (ms: number[]) => {
      const m = median(ms);
      return m === undefined ? undefined : Math.round(m / 1000);
    };
    const m: PoolMeasurement = { nodes: s.drain.length, runs: s.runs.size };
    const drain = seconds(s.drain);
    const upgrade = seconds(s.upgrade);
    const ready = seconds(s.ready);
    if (drain !== undefined) m.nodeDrainSeconds = drain;
    if (upgrade !== undefined) m.nodeUpgradeSeconds = upgrade;
    if (ready !== undefined) m.nodeReadySeconds = ready;
    // Note: rounded down, as the lower bound must never exceed what a node did.
    if (s.upgrade.length > 0) m.fastestUpgradeSeconds = Math.floor(Math.min(...s.upgrade) / 1000);
    if (s.ready.length > 0) m.fastestReadySeconds = Math.floor(Math.min(...s.ready) / 1000);
    if (s.drain.length > 0) m.fastestDrainSeconds = Math.floor(Math.min(...s.drain) / 1000);
    pools[name] = m;
  }
  return { runs: runs.size, pools };
}

/** The runs the store holds for the cluster with `fingerprint`, newest first, with their rows. */
export function clusterHistory(store: RunStore, fingerprint: string, limit = 20): RunHistory[] {
  return store
    .listRuns({ clusterFingerprint: fingerprint, limit })
    .map((run) => ({ run, rows: store.stepStates(run.id) }));
}

function wavesOf(planJson: string): Map<string, PlannedWave> {
  const waves = new Map<string, PlannedWave>();
  let plan: { phases?: Array<{ steps?: PlannedWave[] }> };
  try {
    plan = JSON.parse(planJson);
  } catch {
    return waves;
  }
  for (const phase of plan.phases ?? [])
    for (const step of phase.steps ?? [])
      if (step.kind === 'canary' || step.kind === 'node-wave') waves.set(step.id, step);
  return waves;
}

/** Provider calls a node made: one per minor from its version before the run to the step's (at least 1). */
function minorsUp(previous: string | undefined, target: string): number {
  if (!previous) return 1;
  try {
    const from = parseVersion(previous);
    const to = parseVersion(target);
    return from.major === to.major ? Math.max(1, to.minor - from.minor) : 1;
  } catch {
    return 1;
  }
}

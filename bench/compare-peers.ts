/**
 * Midflight against the loops people run today (issue 11), on the same harness: each method upgrades the
 * same cluster, each on a fresh sandbox started from the same scenario, and one table says per scenario and
 * method:
 * - node phase: clock seconds from the first worker cordoned to the last uncordoned, read from the cluster
 *   itself (harness/node-phase-watch.ts), so it does not depend on how a method organises its work;
 * - violations: the disruption-budget violations the sandbox recorded (its `ctx.violations`, what the demo
 *   reports as "0 PDB violations");
 * - refused evictions: evictions the sandbox answered 429, from its own request counter;
 * - API requests per node to upgrade, from the sandbox's request counter (the provider's calls to the
 *   sandbox's upgrade endpoint, a cloud API's, left out), as bench/upgrade-scale.ts counts them;
 * - for Midflight, the plan's lower bound and the node phase against it.
 *
 * The methods:
 * - Midflight at cap N: the real engine (`startRun`) on a plan from `planUpgrade` with a policy of
 *   maxUnavailable N and its pools flowing side by side under a run-wide cap of N nodes in flight
 *   (poolConcurrency.maxInFlight N: the same cap across the cluster as a fixed loop's), no canary, no soak, timings that state the scenario's physics (a drain takes the pods'
 *   stop time, a node upgrade the scenario's), drain with --force and --delete-emptydir-data as kubectl's;
 * - one node at a time (kured, `kops rolling-update`) and fixed concurrency N (system-upgrade-controller):
 *   src/rehearse/peers/node-loop.ts with `kubectl drain` semantics (kubectl-drain.ts beside it): evictions refused with 429
 *   retried every 5 s, no knowledge of budgets, the next node started the moment one is done.
 * Everyone upgrades nodes through the same provider (src/providers/sandbox-api-provider.ts), one call per minor.
 *
 * Every sandbox runs in this process on a virtual clock (harness/bench-sandbox.ts): the clock jumps to the
 * next timer whenever nothing is running, so clock seconds are what each method waits for (kubectl's 5 s and
 * 1 s waits included), however loaded the machine; wall time is only CPU.
 *
 * Scenarios (arguments; default `pdb-heavy demo regression pdb-deadlock 1000`): a built-in by name, or a
 * number N for bench/upgrade-scale.ts's generated cluster of N workers. Each starts with its control plane
 * already at the target, so every method does the same node-only upgrade: the PDB-heavy and generated ones
 * are written that way; a built-in whose control plane is not is started with it moved to the next minor's
 * latest patch (the target), its workers where the scenario puts them. Caps: pdb-heavy 4 and 6, the generated
 * clusters 10% of their workers (upgrade-scale's policy), the other built-ins their example policies' (demo 1,
 * regression and pdb-deadlock 2); `--caps 4,6` sets them for every scenario of the run.
 *
 * A method that has not finished after a clock limit (an hour plus five minutes per node ÷ cap) is stopped
 * and reported as not finishing, with what it waited on: pdb-deadlock's budgets never allow an eviction, so
 * kubectl's drain waits forever, while Midflight's drain times out (15 min) and halts the run. One node at a
 * time is not run on more than 100 workers (1,000 nodes × a minute is most of a day of clock and hours of CPU).
 *
 * Wall time: the built-ins take seconds each; the 1,000-node cluster most of the run (on 2 shared cores, about
 * 6 min for Midflight and 17 min for fixed concurrency 100, whose kubectl-style polling costs CPU).
 *
 * Jitter (`--seeds N`): by default each method runs once on the scenario's exact timings, where every pod
 * stops and every node reboots in the same time, so loops run in lock-step. With `--seeds N` every method runs
 * N times, once per seed 1..N, with the scenario's `timing.spread` (docs/scenarios.md, sim/timing-spread.ts):
 * each worker's reboot and each pod's start, readiness and stop take their scenario value × a factor within
 * ±`--spread` (default 0.2), fixed per node and per workload on a node by the seed, so within a seed every
 * method meets the same cluster. The table then gives each number as its median over the seeds and its
 * spread (min–max), and the ratios the issue asks for per seed, then summarised the same way:
 * - "vs best fixed": the best fixed concurrency at most the cap (one node at a time included) ÷ Midflight's
 *   node phase, the same seed (×1.25 or more is issue 11's target on pdb-heavy);
 * - "× bound": Midflight's node phase ÷ its plan's lower bound (×1.15 or less is the target).
 *
 * The lower bound: Midflight's plan is given, as an earlier run's measurements would give it (measuredOf),
 * the cluster's fastest worker reboot and fastest drain (the node whose evicted pods have all stopped soonest),
 * so its node cycle is what the physics allow at best; see plan/lower-bound.ts. The table's "lower bound" is
 * that bound's rule with each node's own cycle (seedFloorSeconds): without a spread the plan's bound itself;
 * with one, tighter than the plan's (which takes the fastest node's cycle for every node) and still a floor.
 * A cell marked ⚠ is a method (or a seed of it) where Midflight was slower than that baseline at its cap.
 *
 * Usage: see USAGE below (`--help`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../src/core/clock.ts';
import { type MeasuredTimings, median, parseDuration } from '../src/core/index.ts';
import {
  compareVersions,
  formatVersion,
  type KubeVersion,
  latestPatchOf,
  parseVersion,
} from '../src/core/versions.ts';
import { type RunSummary, startRun } from '../src/engine/index.ts';
import { readSnapshot } from '../src/kube/snapshot.ts';
import { type Plan, planUpgrade, poolLowerBound, validatePolicy } from '../src/plan/index.ts';
import { SandboxApiProvider } from '../src/providers/index.ts';
import { runNodeLoop } from '../src/rehearse/index.ts';
import { R } from '../src/sandbox/api/resources.ts';
import { DEFAULT_TIMING } from '../src/sandbox/context.ts';
import type { Sandbox } from '../src/sandbox/sandbox.ts';
import { loadScenario } from '../src/sandbox/scenario/load-scenario.ts';
import { parseScenario } from '../src/sandbox/scenario/parse-scenario.ts';
import type { Scenario } from '../src/sandbox/scenario/scenario-types.ts';
import { isDaemonSetPod, isMirrorPod, isTerminal } from '../src/sandbox/sim/pod-status.ts';
import { podSpreadMs, spreadMs, type TimingSpread } from '../src/sandbox/sim/timing-spread.ts';
import { RunStore } from '../src/store/index.ts';
import { type InProcessSandbox, startInProcess } from './harness/bench-sandbox.ts';
import { generatedScenarioYaml } from './harness/generated-scenario.ts';
import { NodePhaseWatch } from './harness/node-phase-watch.ts';
import { NodeTimeline, renderTimeline } from './harness/node-timeline.ts';
import { kubeRequests } from './harness/request-counts.ts';

const DEFAULT_SCENARIOS = ['pdb-heavy', 'demo', 'regression', 'pdb-deadlock', '1000'];
/** The caps of the built-ins' example policies (examples/policies/, test/fixtures/snapshots/scenarios.ts). */
const BUILTIN_CAPS: Record<string, number[]> = {
  'pdb-heavy': [4, 6],
  demo: [1],
  regression: [2],
  'pdb-deadlock': [2],
};
/** Beyond this many workers, one node at a time is reported as not run. */
const ONE_AT_A_TIME_MAX_WORKERS = 100;

/** Parsed command line. */
interface BenchArgs {
  scenarios: string[];
  caps?: number[];
  only?: Set<string>;
  /** Seeds 1..seeds with a spread; undefined: one run on the exact timings. */
  seeds?: number;
  spread: number;
  timeline: boolean;
}

interface BenchScenario {
  name: string;
  /** With its control plane at `target`. */
  scenario: Scenario;
  target: string;
  caps: number[];
  /** What the cluster is and how it was started, printed under the table. */
  note: string;
}

type Method = { kind: 'midflight'; cap: number } | { kind: 'loop'; concurrency: number };

interface MethodResult {
  method: string;
  /** Its in-flight cap (a loop's concurrency). */
  cap: number;
  kind: 'midflight' | 'loop';
  /** The timing spread's seed; undefined for the exact timings. */
  seed?: number;
  /** Not run at all: the other numbers mean nothing. */
  skipped?: boolean;
  /** Clock ms, first cordon → last uncordon. */
  nodePhaseMs?: number;
  /** Midflight: this seed's floor (seedFloorSeconds); the plan's own bound, which it equals without a spread. */
  boundMs?: number;
  planBoundMs?: number;
  violations: number;
  refused: number;
  requestsPerNode: number;
  maxCordoned: number;
  upgraded: number;
  toUpgrade: number;
  /** "finished", or why not. */
  outcome: string;
  wallMs: number;
  /** With --timeline: each node's cycle, rendered. */
  timeline?: string;
}

/** What --methods picks among: Midflight, one node at a time, fixed concurrency. */
const METHOD_KINDS = ['midflight', 'one', 'fixed'];
/** --spread's default: ±20 % is what reboots of one node group and restarts of one app differ by, give or take. */
const DEFAULT_SPREAD = 0.2;
const USAGE = `Usage: npx tsx bench/compare-peers.ts [scenario…] [options]

Midflight against one node at a time and fixed concurrency N (kubectl drain semantics), each on a fresh
in-process sandbox on a virtual clock; one table per run (see the header of bench/compare-peers.ts).

Scenarios: a built-in by name (pdb-heavy, demo, regression, pdb-deadlock) or a number N for a generated
cluster of N workers. Default: ${DEFAULT_SCENARIOS.join(' ')}.

Options:
  --caps 4,6             in-flight caps for every scenario (default: pdb-heavy 4,6; demo 1; regression and
                         pdb-deadlock 2; a generated cluster 10 % of its workers)
  --methods LIST         only these of midflight, one, fixed (comma-separated)
  --seeds N              run every method N times, seeds 1..N, with the pods' and nodes' timings spread
                         (±--spread, the same cluster for every method of a seed); report median and min–max
  --spread R             the spread's ratio, 0 to 0.5 (default ${DEFAULT_SPREAD}; only with --seeds)
  --timeline             print each run's nodes as the cluster saw them (to stderr)
  --help                 this text`;

function methodKind(m: Method): string {
  if (m.kind === 'midflight') return 'midflight';
  return m.concurrency === 1 ? 'one' : 'fixed';
}

function methodName(m: Method): string {
  if (m.kind === 'midflight') return `Midflight, maxUnavailable ${m.cap}`;
  return m.concurrency === 1 ? 'one node at a time' : `fixed concurrency ${m.concurrency}`;
}

function benchScenario(arg: string, caps: number[] | undefined): BenchScenario {
  if (/^\d+$/.test(arg)) {
    const workers = Number(arg);
    const scenario = parseScenario(generatedScenarioYaml(workers), `bench-${workers}.yaml`);
    return {
      name: `generated ${workers}`,
      scenario,
      target: scenario.kubernetesVersion,
      caps: caps ?? [Math.max(1, Math.floor(workers / 10))],
      note: `${workers} workers to ${scenario.kubernetesVersion} (bench/upgrade-scale.ts's cluster), control plane already there`,
    };
  }
  const scenario = loadScenario(arg);
  const cluster = parseVersion(scenario.kubernetesVersion);
  // Note: one pool behind the control plane is not enough (demo's compute pool is, its general pool is
  // not): a scenario is taken as written only when every pool is behind.
  const allBehind =
    scenario.nodePools.length > 0 &&
    scenario.nodePools.every((p) => compareVersions(parseVersion(p.version), cluster) < 0);
  const target = allBehind
    ? scenario.kubernetesVersion
    : formatVersion(
        latestPatchOf(cluster.major, cluster.minor + 1) ?? { ...cluster, minor: cluster.minor + 1 },
      );
  return {
    name: arg,
    scenario: {
      ...scenario,
      kubernetesVersion: target,
      controlPlane: { ...scenario.controlPlane, kubeletVersion: target },
    },
    target,
    caps: caps ?? BUILTIN_CAPS[arg] ?? [1],
    note: `${workersOf(scenario)} workers to ${target}, ${
      allBehind
        ? 'control plane already there'
        : `control plane started there instead of at ${scenario.kubernetesVersion}`
    }`,
  };
}

function methodsOf(bench: BenchScenario, workers: number): Method[] {
  const methods: Method[] = bench.caps.map((cap) => ({ kind: 'midflight', cap }));
  if (workers <= ONE_AT_A_TIME_MAX_WORKERS) methods.push({ kind: 'loop', concurrency: 1 });
  for (const cap of bench.caps) if (cap > 1) methods.push({ kind: 'loop', concurrency: cap });
  return methods;
}

function workersOf(scenario: Scenario): number {
  return scenario.nodePools.reduce((n, p) => n + p.count, 0);
}

/** The bench's policy for Midflight at `cap`: no canary, no soak, timings that state the scenario's physics. */
function midflightPolicy(scenario: Scenario, cap: number) {
  const timing = { ...DEFAULT_TIMING, ...scenario.timing };
  const result = validatePolicy(
    {
      defaults: { maxUnavailable: cap },
      poolConcurrency: { maxInFlight: cap },
      canary: { nodes: 0 },
      drain: { force: true, deleteEmptyDirData: true },
      timings: {
        nodeDrain: `${timing.podStopMs}ms`,
        nodeUpgrade: `${timing.nodeUpgradeMs}ms`,
        podStartup: `${timing.podStartMs + timing.podReadyMs}ms`,
        waveSoak: '0s',
      },
      provider: { kind: 'sandbox-api' },
    },
    'compare-peers-policy.yaml',
  );
  if (!result.ok) throw new Error(`the bench's policy is invalid: ${JSON.stringify(result.errors)}`);
  return result.policy;
}

/**
 * What the cluster's physics allow each worker at best, per pool, in clock ms: its cycle is its drain (the
 * last of its evicted pods stopped, all evicted at once and stopping in parallel; what a drain evicts:
 * kubectl's --ignore-daemonsets, no mirror pods) and then its upgrade reboot, with the seed's spread if any.
 */
interface ClusterPhysics {
  /** `upgrades`: provider calls, one per minor the node is behind, each a reboot of `rebootMs`. */
  pools: Map<string, Array<{ node: string; drainMs: number; rebootMs: number; upgrades: number }>>;
}

function clusterPhysics(
  plan: Plan,
  scenario: Scenario,
  cluster: Sandbox,
  target: KubeVersion,
): ClusterPhysics {
  const timing = { ...DEFAULT_TIMING, ...scenario.timing };
  const pools: ClusterPhysics['pools'] = new Map();
  for (const phase of plan.phases)
    for (const step of phase.steps) {
      if (step.kind !== 'canary' && step.kind !== 'node-wave') continue;
      const nodes = pools.get(step.pool) ?? [];
      pools.set(step.pool, nodes);
      for (const node of step.nodes) {
        const stops = cluster.ctx.store
          .podsOnNode(node)
          .filter((p) => !isDaemonSetPod(p) && !isMirrorPod(p) && !isTerminal(p))
          .map((p) => podSpreadMs(timing.podStopMs, timing.spread, 'podStop', p));
        const kubelet = parseVersion(
          cluster.ctx.store.get(R.nodes, undefined, node)?.status?.nodeInfo?.kubeletVersion ??
            formatVersion(target),
        );
        nodes.push({
          node,
          drainMs: Math.max(0, ...stops),
          rebootMs: spreadMs(timing.nodeUpgradeMs, timing.spread, 'nodeUpgrade', node),
          // Note: one provider call per minor (engine/node-steps.ts), as the plan counts them.
          upgrades: kubelet.major === target.major ? Math.max(1, target.minor - kubelet.minor) : 1,
        });
      }
    }
  return { pools };
}

/**
 * The physics at their fastest as the store would hold them after an earlier run measured every worker
 * (store/measured-history.ts), each rounded down as measurements are: per pool, the fastest reboot (its return
 * to Ready counted in it) and the fastest drain. Given to Midflight's plan so that its lower bound is what a
 * second run on this cluster would show: with a spread some nodes reboot faster than the scenario's value (a
 * bound from the policy alone would no longer be a floor), and the drain counts.
 */
function measuredOf(physics: ClusterPhysics): MeasuredTimings {
  const pools: MeasuredTimings['pools'] = {};
  for (const [pool, nodes] of physics.pools)
    pools[pool] = {
      nodes: nodes.length,
      runs: 1,
      fastestUpgradeSeconds: Math.floor(Math.min(...nodes.map((n) => n.rebootMs)) / 1000),
      fastestReadySeconds: 0,
      fastestDrainSeconds: Math.floor(Math.min(...nodes.map((n) => n.drainMs)) / 1000),
    };
  return { runs: 1, pools };
}

/**
 * The floor of this seed: the plan's bound by the same rule (poolLowerBound) with each node's own cycle in
 * place of the fastest one — a cluster whose nodes all take the same time gets the plan's bound; with a spread
 * it is tighter, since nodes in flight are out for at least the sum of their cycles ÷ the cap, and no run on
 * this seed can beat it. Pools one after another, the plan's soaks added, as the plan's bound does; pools
 * flowing side by side count together (togetherLowerBound's rule with each node's own cycle).
 */
function seedFloorSeconds(plan: Plan, physics: ClusterPhysics): number {
  const { lowerBound, nodePhaseLowerBoundSeconds } = plan.estimate;
  // Note: both are floors (the plan's takes the fastest node's cycle for every node), so the larger is one.
  let seconds = nodePhaseLowerBoundSeconds - lowerBound.seconds;
  const floors = new Map<string, { seconds: number; cycles: number }>();
  for (const pool of lowerBound.pools) {
    const nodes = physics.pools.get(pool.pool.replace(/ \(canary\)$/, '')) ?? [];
    const cycles = nodes.map((n) => Math.floor((n.drainMs + n.upgrades * n.rebootMs) / 1000));
    if (cycles.length === 0 || cycles.length !== pool.nodes) {
      floors.set(pool.pool, { seconds: pool.seconds, cycles: 0 });
      continue;
    }
    const floor = Math.max(
      pool.seconds,
      poolLowerBound({
        pool: pool.pool,
        nodes: pool.nodes,
        maxInFlight: pool.maxInFlight,
        capacityLimited: pool.limitedBy === 'capacity',
        ...(pool.setupSeconds ? { setupSeconds: pool.setupSeconds } : {}),
        cycleSeconds: Math.min(...cycles),
        totalCycleSeconds: cycles.reduce((a, b) => a + b, 0),
        longestCycleSeconds: Math.max(...cycles),
        podStartupSeconds: parseDuration(plan.policy.timings.podStartup) / 1000,
        budgets: pool.tightestBudget ? [pool.tightestBudget] : [],
      }).seconds,
    );
    floors.set(pool.pool, { seconds: floor, cycles: cycles.reduce((a, b) => a + b, 0) });
  }
  const grouped = new Set<string>();
  for (const g of lowerBound.together ?? []) {
    const members = g.pools.map((p) => floors.get(p)!);
    for (const p of g.pools) grouped.add(p);
    const cap = Math.ceil(members.reduce((s, m) => s + m.cycles, 0) / g.maxInFlight);
    // Note: the plan's group bound already replaced its pools' sum in the soaks' difference above.
    seconds += Math.max(g.seconds, cap, ...members.map((m) => m.seconds));
  }
  for (const [pool, floor] of floors) if (!grouped.has(pool)) seconds += floor.seconds;
  return seconds;
}

/** Aborts `controller` after `ms` of clock time; the returned function cancels it. */
function abortAfter(clock: Clock, ms: number, controller: AbortController): () => void {
  const timer = clock.setTimer(ms, () =>
    controller.abort(new Error(`stopped at the clock limit (${Math.round(ms / 60_000)} min)`)),
  );
  return () => timer.cancel();
}

/** The scenario with seed `seed`'s spread, or as written without one. */
function withSpread(scenario: Scenario, spread: TimingSpread | undefined): Scenario {
  return spread ? { ...scenario, timing: { ...scenario.timing, spread } } : scenario;
}

async function runMethod(
  bench: BenchScenario,
  method: Method,
  options: { timeline: boolean; spread?: TimingSpread },
): Promise<MethodResult> {
  const wallStart = performance.now();
  const scenario = withSpread(bench.scenario, options.spread);
  const sandbox: InProcessSandbox = await startInProcess(scenario);
  const { clock } = sandbox;
  const kc = new KubeConfig();
  kc.loadFromString(sandbox.kubeconfig);
  const target = parseVersion(bench.target);
  const workersBehind = () =>
    sandbox.sandbox.ctx.store
      .list(R.nodes)
      .filter((n) => n.metadata.labels?.['node-role.kubernetes.io/control-plane'] === undefined)
      .filter(
        (n) => compareVersions(parseVersion(n.status?.nodeInfo?.kubeletVersion ?? 'v0.0.0'), target) < 0,
      ).length;
  const toUpgrade = workersBehind();
  const cap = method.kind === 'midflight' ? method.cap : method.concurrency;
  const limitMs = 60 * 60_000 + (toUpgrade * 5 * 60_000) / cap;
  const provider = new SandboxApiProvider(kc, clock);
  const dir = mkdtempSync(join(tmpdir(), 'midflight-peers-'));
  const store = RunStore.open(join(dir, 'state.db'), { clock });
  const stop = new AbortController();
  try {
    let boundMs: number | undefined;
    let planBoundMs: number | undefined;
    let physics: ClusterPhysics | undefined;
    let outcome = 'finished';
    let plan: Plan | undefined;
    if (method.kind === 'midflight') {
      const snapshot = await readSnapshot(kc, { clock });
      const policy = midflightPolicy(bench.scenario, method.cap);
      physics = clusterPhysics(planUpgrade(snapshot, target, policy), scenario, sandbox.sandbox, target);
      plan = planUpgrade(snapshot, target, policy, { measured: measuredOf(physics) });
    }
    const watch = new NodePhaseWatch(sandbox.sandbox);
    const cycles = options.timeline ? new NodeTimeline(sandbox.sandbox) : undefined;
    await sandbox.measureStart();
    const cancelLimit = abortAfter(clock, limitMs, stop);
    if (plan) {
      planBoundMs = plan.estimate.nodePhaseLowerBoundSeconds * 1000;
      boundMs = seedFloorSeconds(plan, physics!) * 1000;
      const summary: RunSummary | Error = await startRun({ kc, store, provider, clock }, plan, {
        leaseDurationSeconds: 120,
        signal: stop.signal,
      }).catch((err: Error) => err);
      if (summary instanceof Error) outcome = `error: ${summary.message}`;
      else if (summary.state !== 'succeeded')
        outcome = `${stop.signal.aborted ? `${(stop.signal.reason as Error).message}, ` : ''}${summary.state}: ${summary.reason ?? ''}`;
    } else if (method.kind === 'loop') {
      const result = await runNodeLoop({
        kc,
        clock,
        provider,
        target,
        concurrency: method.concurrency,
        signal: stop.signal,
      }).catch((err: Error) => ({ unfinished: `error: ${err.message}` }));
      if (result.unfinished) outcome = result.unfinished;
    }
    cancelLimit();
    const measure = await sandbox.measureEnd();
    const phase = watch.finish();
    const requests = kubeRequests(measure.requests, provider.requests);
    const upgraded = toUpgrade - workersBehind();
    if (outcome === 'finished' && upgraded < toUpgrade) outcome = `only ${upgraded} of ${toUpgrade} upgraded`;
    return {
      method: methodName(method),
      cap,
      kind: method.kind,
      ...(options.spread ? { seed: options.spread.seed } : {}),
      // Note: the span of an unfinished run says nothing about how long the upgrade takes.
      nodePhaseMs: outcome === 'finished' ? phase.durationMs : undefined,
      boundMs,
      planBoundMs,
      violations: measure.violations,
      refused: requests.refused,
      requestsPerNode: requests.total / Math.max(1, toUpgrade),
      maxCordoned: phase.maxCordoned,
      upgraded,
      toUpgrade,
      outcome,
      wallMs: performance.now() - wallStart,
      timeline: cycles ? renderTimeline(cycles.finish(), cap) : undefined,
    };
  } finally {
    store.close();
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

type Row = MethodResult & { scenario: string };

/** "197 s" for one value or equal ones, else "197 s (190–205)": the median and the spread over the seeds. */
function summary(values: number[], format: (v: number) => string): string {
  if (values.length === 0) return '—';
  const mid = format(median(values)!);
  const lo = format(Math.min(...values));
  const hi = format(Math.max(...values));
  return lo === hi ? mid : `${mid} (${lo}–${hi})`;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
const times = (r: number) => `×${r.toFixed(2)}`;

/**
 * Per seed, the best fixed concurrency at most Midflight's cap (one node at a time included) on the same
 * seed: its node phase ÷ Midflight's (above 1: Midflight faster), and which baseline it was.
 */
function versusBest(mid: Row, rows: readonly Row[]): { ratio: number; slowerThan: string[] } | undefined {
  if (mid.nodePhaseMs === undefined) return undefined;
  const peers = rows.filter(
    (r) =>
      r.kind === 'loop' &&
      r.scenario === mid.scenario &&
      r.seed === mid.seed &&
      r.cap <= mid.cap &&
      r.nodePhaseMs !== undefined,
  );
  if (peers.length === 0) return undefined;
  const best = Math.min(...peers.map((r) => r.nodePhaseMs!));
  const slowerThan = peers.filter((r) => r.nodePhaseMs! < mid.nodePhaseMs!).map((r) => r.method);
  return { ratio: best / mid.nodePhaseMs, slowerThan };
}

/** One line per scenario and method: each number's median and spread over the seeds (or its one value). */
function printTable(rows: readonly Row[]): void {
  const header = [
    'scenario',
    'method',
    'node phase',
    'lower bound',
    '× bound',
    'vs best fixed ≤ cap',
    'violations',
    'refused evictions',
    'API req/node',
    'max cordoned',
    'upgraded',
    'runs',
    'wall',
    'outcome',
  ];
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.scenario}\u0000${r.method}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const lines = [...groups.values()].map((runs) => {
    const r = runs[0]!;
    if (r.skipped) return [r.scenario, r.method, ...header.slice(2, -1).map(() => '—'), r.outcome];
    const finished = runs.filter((x) => x.nodePhaseMs !== undefined);
    const bounded = finished.filter((x) => x.boundMs);
    const vs =
      r.kind === 'midflight' ? runs.map((x) => versusBest(x, rows)).filter((v) => v !== undefined) : [];
    const slower = [...new Set(vs.flatMap((v) => v.slowerThan))];
    const slowerSeeds = vs.filter((v) => v.slowerThan.length > 0).length;
    const outcomes = [...new Set(runs.map((x) => x.outcome))];
    return [
      r.scenario,
      r.method,
      summary(
        finished.map((x) => x.nodePhaseMs!),
        seconds,
      ),
      summary(
        bounded.map((x) => x.boundMs!),
        seconds,
      ),
      summary(
        bounded.map((x) => x.nodePhaseMs! / x.boundMs!),
        times,
      ),
      `${summary(
        vs.map((v) => v.ratio),
        times,
      )}${slower.length > 0 ? ` ⚠ slower than ${slower.join(', ')}${runs.length > 1 ? ` in ${slowerSeeds} of ${runs.length} runs` : ''}` : ''}`,
      summary(
        runs.map((x) => x.violations),
        String,
      ),
      summary(
        runs.map((x) => x.refused),
        String,
      ),
      summary(
        runs.map((x) => x.requestsPerNode),
        (v) => v.toFixed(1),
      ),
      summary(
        runs.map((x) => x.maxCordoned),
        String,
      ),
      summary(
        runs.map((x) => x.upgraded),
        (v) => `${v}/${r.toUpgrade}`,
      ),
      runs.length === 1
        ? r.seed === undefined
          ? '1'
          : `seed ${r.seed}`
        : `seeds ${runs.map((x) => x.seed).join(',')}`,
      `${(runs.reduce((t, x) => t + x.wallMs, 0) / 1000).toFixed(0)} s`,
      outcomes.join('; '),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join(' | ')} |`;
  console.log(row(header));
  console.log(row(widths.map((w, i) => (i === widths.length - 1 ? '---' : '-'.repeat(w)))));
  for (const l of lines) console.log(row(l));
}

/** Exits with a usage error naming what was wrong. */
function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

/** The value after flag `name`, removed with it from `args`; undefined when the flag is not there. */
function takeValue(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('-')) usageError(`${name} needs a value`);
  args.splice(at, 2);
  return value;
}

function takeFlag(args: string[], name: string): boolean {
  const at = args.indexOf(name);
  if (at >= 0) args.splice(at, 1);
  return at >= 0;
}

function parseArgs(argv: readonly string[]): BenchArgs {
  const args = [...argv];
  if (takeFlag(args, '--help') || takeFlag(args, '-h')) {
    console.log(USAGE);
    process.exit(0);
  }
  const capsText = takeValue(args, '--caps');
  const caps = capsText?.split(',').map(Number);
  if (caps?.some((c) => !Number.isInteger(c) || c < 1))
    usageError(`--caps ${capsText}: give positive integers separated by commas, e.g. --caps 4,6`);
  const methodsText = takeValue(args, '--methods');
  const only = methodsText === undefined ? undefined : new Set(methodsText.split(','));
  if (only && [...only].some((m) => !METHOD_KINDS.includes(m)))
    usageError(
      `--methods ${methodsText}: give ${METHOD_KINDS.join(', ')} separated by commas, e.g. --methods midflight`,
    );
  const seedsText = takeValue(args, '--seeds');
  const seeds = seedsText === undefined ? undefined : Number(seedsText);
  if (seeds !== undefined && (!Number.isInteger(seeds) || seeds < 1))
    usageError(`--seeds ${seedsText}: give how many seeds to run, a whole number ≥ 1, e.g. --seeds 5`);
  const spreadText = takeValue(args, '--spread');
  const spread = spreadText === undefined ? DEFAULT_SPREAD : Number(spreadText);
  if (spreadText !== undefined && seeds === undefined)
    usageError("--spread applies to the seeds' runs: give --seeds N with it");
  if (!(spread >= 0 && spread <= 0.5))
    usageError(`--spread ${spreadText}: give a ratio from 0 to 0.5, e.g. --spread 0.2`);
  const timeline = takeFlag(args, '--timeline');
  const unknownFlag = args.find((a) => a.startsWith('-'));
  if (unknownFlag) usageError(`unknown option ${unknownFlag}`);
  return {
    scenarios: args.length > 0 ? args : DEFAULT_SCENARIOS,
    caps,
    only,
    seeds,
    spread,
    timeline,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let benches: BenchScenario[];
  try {
    benches = args.scenarios.map((a) => benchScenario(a, args.caps));
  } catch (err) {
    usageError(`${(err as Error).message}; or give a number of workers for a generated cluster`);
  }
  const spreads: Array<TimingSpread | undefined> =
    args.seeds === undefined
      ? [undefined]
      : Array.from({ length: args.seeds }, (_, i) => ({ ratio: args.spread, seed: i + 1 }));
  const rows: Row[] = [];
  for (const bench of benches) {
    const workers = workersOf(bench.scenario);
    for (const method of methodsOf(bench, workers)) {
      if (args.only && !args.only.has(methodKind(method))) continue;
      for (const spread of spreads) {
        const result = await runMethod(bench, method, { timeline: args.timeline, spread });
        rows.push({ scenario: bench.name, ...result });
        console.error(
          `${bench.name}, ${result.method}${spread ? `, seed ${spread.seed}` : ''}: node phase ${result.nodePhaseMs === undefined ? '—' : `${(result.nodePhaseMs / 1000).toFixed(0)} s`}${result.boundMs === undefined ? '' : ` (floor ${result.boundMs / 1000} s, plan's bound ${result.planBoundMs! / 1000} s)`}, ${result.outcome} (${(result.wallMs / 1000).toFixed(0)} s of wall time)`,
        );
        if (result.timeline) console.error(`${result.timeline}\n`);
      }
    }
    if (workers > ONE_AT_A_TIME_MAX_WORKERS && (!args.only || args.only.has('one')))
      rows.push({
        scenario: bench.name,
        method: 'one node at a time',
        cap: 1,
        kind: 'loop',
        skipped: true,
        violations: 0,
        refused: 0,
        requestsPerNode: 0,
        maxCordoned: 0,
        upgraded: 0,
        toUpgrade: workers,
        outcome: `not run: more than ${ONE_AT_A_TIME_MAX_WORKERS} workers`,
        wallMs: 0,
      });
  }
  printTable(rows);
  console.log('');
  for (const bench of benches) console.log(`${bench.name}: ${bench.note}; caps ${bench.caps.join(', ')}`);
  console.log(
    args.seeds === undefined
      ? "timings: the scenarios' own, exactly (no spread)"
      : `timings: spread ±${args.spread} (timing.spread), seeds 1..${args.seeds}; each number is the median over the seeds and (min–max)`,
  );
}

await main();

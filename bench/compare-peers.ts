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
 *   maxUnavailable N, no canary, no soak, timings that state the scenario's physics (a drain takes the pods'
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
 * Usage: npx tsx bench/compare-peers.ts [scenario…] [--caps 4,6] [--methods midflight,one,fixed] [--timeline]
 * `--methods` runs only those methods; `--timeline` prints each method's nodes as the cluster saw them
 * (harness/node-timeline.ts): where the node phase goes, per node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../src/core/clock.ts';
import { compareVersions, formatVersion, latestPatchOf, parseVersion } from '../src/core/versions.ts';
import { type RunSummary, startRun } from '../src/engine/index.ts';
import { readSnapshot } from '../src/kube/snapshot.ts';
import { planUpgrade, validatePolicy } from '../src/plan/index.ts';
import { SandboxApiProvider } from '../src/providers/index.ts';
import { runNodeLoop } from '../src/rehearse/index.ts';
import { R } from '../src/sandbox/api/resources.ts';
import { DEFAULT_TIMING } from '../src/sandbox/context.ts';
import { loadScenario } from '../src/sandbox/scenario/load-scenario.ts';
import { parseScenario } from '../src/sandbox/scenario/parse-scenario.ts';
import type { Scenario } from '../src/sandbox/scenario/scenario-types.ts';
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
  /** Not run at all: the other numbers mean nothing. */
  skipped?: boolean;
  /** Clock ms, first cordon → last uncordon. */
  nodePhaseMs?: number;
  boundMs?: number;
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
const USAGE =
  'npx tsx bench/compare-peers.ts [scenario…] [--caps 4,6] [--methods midflight,one,fixed] [--timeline]';

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

/** Aborts `controller` after `ms` of clock time; the returned function cancels it. */
function abortAfter(clock: Clock, ms: number, controller: AbortController): () => void {
  const timer = clock.setTimer(ms, () =>
    controller.abort(new Error(`stopped at the clock limit (${Math.round(ms / 60_000)} min)`)),
  );
  return () => timer.cancel();
}

async function runMethod(bench: BenchScenario, method: Method, timeline = false): Promise<MethodResult> {
  const wallStart = performance.now();
  const sandbox: InProcessSandbox = await startInProcess(bench.scenario);
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
    let outcome = 'finished';
    const plan =
      method.kind === 'midflight'
        ? planUpgrade(await readSnapshot(kc, { clock }), target, midflightPolicy(bench.scenario, method.cap))
        : undefined;
    const watch = new NodePhaseWatch(sandbox.sandbox);
    const cycles = timeline ? new NodeTimeline(sandbox.sandbox) : undefined;
    await sandbox.measureStart();
    const cancelLimit = abortAfter(clock, limitMs, stop);
    if (plan) {
      boundMs = plan.estimate.nodePhaseLowerBoundSeconds * 1000;
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
      // Note: the span of an unfinished run says nothing about how long the upgrade takes.
      nodePhaseMs: outcome === 'finished' ? phase.durationMs : undefined,
      boundMs,
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

function printTable(rows: Array<MethodResult & { scenario: string }>): void {
  const header = [
    'scenario',
    'method',
    'node phase',
    'lower bound',
    '× bound',
    'violations',
    'refused evictions',
    'API req/node',
    'max cordoned',
    'upgraded',
    'wall',
    'outcome',
  ];
  const s = (ms: number | undefined) => (ms === undefined ? '—' : `${Math.round(ms / 1000)} s`);
  const lines = rows.map((r) =>
    r.skipped
      ? [r.scenario, r.method, ...header.slice(2, -1).map(() => '—'), r.outcome]
      : [
          r.scenario,
          r.method,
          s(r.nodePhaseMs),
          s(r.boundMs),
          r.boundMs && r.nodePhaseMs !== undefined ? `×${(r.nodePhaseMs / r.boundMs).toFixed(2)}` : '—',
          String(r.violations),
          String(r.refused),
          r.requestsPerNode.toFixed(1),
          String(r.maxCordoned),
          `${r.upgraded}/${r.toUpgrade}`,
          `${(r.wallMs / 1000).toFixed(0)} s`,
          r.outcome,
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join(' | ')} |`;
  console.log(row(header));
  console.log(row(widths.map((w, i) => (i === widths.length - 1 ? '---' : '-'.repeat(w)))));
  for (const l of lines) console.log(row(l));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let caps: number[] | undefined;
  const at = args.indexOf('--caps');
  if (at >= 0) {
    caps = (args.splice(at, 2)[1] ?? '').split(',').map(Number);
    if (caps.length === 0 || caps.some((c) => !Number.isInteger(c) || c < 1)) {
      console.error('--caps takes positive integers separated by commas, e.g. --caps 4,6');
      process.exit(2);
    }
  }
  const timelineAt = args.indexOf('--timeline');
  const timeline = timelineAt >= 0;
  if (timeline) args.splice(timelineAt, 1);
  let only: Set<string> | undefined;
  const methodsAt = args.indexOf('--methods');
  if (methodsAt >= 0) {
    only = new Set((args.splice(methodsAt, 2)[1] ?? '').split(','));
    if (only.size === 0 || [...only].some((m) => !METHOD_KINDS.includes(m))) {
      console.error(
        `--methods takes ${METHOD_KINDS.join(', ')} separated by commas, e.g. --methods midflight`,
      );
      process.exit(2);
    }
  }
  const unknownFlag = args.find((a) => a.startsWith('-'));
  if (unknownFlag) {
    console.error(`unknown option ${unknownFlag}; usage: ${USAGE}`);
    process.exit(2);
  }
  let benches: BenchScenario[];
  try {
    benches = (args.length > 0 ? args : DEFAULT_SCENARIOS).map((a) => benchScenario(a, caps));
  } catch (err) {
    console.error(`${(err as Error).message}; or give a number of workers for a generated cluster`);
    process.exit(2);
  }
  const rows: Array<MethodResult & { scenario: string }> = [];
  for (const bench of benches) {
    const workers = workersOf(bench.scenario);
    for (const method of methodsOf(bench, workers)) {
      if (only && !only.has(methodKind(method))) continue;
      const result = await runMethod(bench, method, timeline);
      rows.push({ scenario: bench.name, ...result });
      console.error(
        `${bench.name}, ${result.method}: node phase ${result.nodePhaseMs === undefined ? '—' : `${(result.nodePhaseMs / 1000).toFixed(0)} s`}, ${result.outcome} (${(result.wallMs / 1000).toFixed(0)} s of wall time)`,
      );
      if (result.timeline) console.error(`${result.timeline}\n`);
    }
    if (workers > ONE_AT_A_TIME_MAX_WORKERS && (!only || only.has('one')))
      rows.push({
        scenario: bench.name,
        method: 'one node at a time',
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
}

await main();

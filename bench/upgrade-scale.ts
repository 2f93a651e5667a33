/**
 * Upgrades a sandbox cluster of 100, 1,000 and 5,000 worker nodes end to end with the real engine, over
 * HTTPS as against a real cluster, and prints per size: wall time, API requests per node, and the node
 * phase's duration (canary + node-pool phases, in clock time) against the plan's lower bound. Targets
 * (issue 4): the node phase within 15% of the lower bound; 1,000 nodes in under 2 minutes of wall time.
 *
 * The cluster, generated per size with the same shape: one control-plane member already at v1.31.2, so the
 * plan is node-only (preflight, canary, node pool, validation); one pool of N workers at v1.30.6 with pods
 * already bound and spread round-robin, per 100 nodes: 5 × web (20 replicas, budget maxUnavailable 10%: 2),
 * 10 × api (5 replicas, minAvailable 80%: 1), 1 × cache (StatefulSet ×3, maxUnavailable 1), 1 × batch (100
 * replicas, no budget); a DaemonSet beside the built-in ones. The policy: maxUnavailable 10%, a one-node
 * canary soaked 2 min, a 30 s soak after each wave (the pool is one wave).
 *
 * The bound is the plan's physical lower bound (plan/lower-bound.ts: nodes ÷ in flight × one node's cycle at
 * its fastest — its upgrade, no drain — or a budget's pods in groups of what it allows, one pod start-up
 * apart, whichever is longer, plus the soaks) from the policy's timings, which here state the sandbox's own
 * physics (pods exit 5 s after SIGTERM, a node reboots in 60 s): no correct run takes less, and what the node
 * phase takes beyond it is the drains and what the engine and the cluster's reactions (polls, rescheduling,
 * budget refusals) add. The plan's own estimate (drain + upgrade per node) is printed too.
 *
 * Two clocks (`--clock`):
 * - `virtual` (the default): the sandbox runs in the engine's process on a VirtualClock that jumps to its
 *   next timer whenever the process is idle, with no request waiting for an answer (`src/sandbox/idle-time.ts`).
 *   Work costs no clock time, so the node phase is what the run waits for, however fast the machine; the
 *   wall time is what the engine and the sandbox cost in CPU together, on one core.
 * - `scaled`: the sandbox runs in a child process, as a cluster is not the client's process: the engine has
 *   its own core, and the CPU each side spends per node is printed. Both processes use a ScaledClock with
 *   the same origin and scale (`--scale N`, default by size), so they share one clock time. Everything they
 *   do takes wall time that the scale multiplies into clock time (at ×25, 20 ms of work is half a clock
 *   second); the event-loop delay, printed in clock seconds, shows when a scale is too high for the machine
 *   (other processes on it count too: the load average is printed).
 *
 * Usage: npx tsx bench/upgrade-scale.ts [sizes…, default 100 1000 5000] [--clock virtual|scaled]
 *          [--scale N: a scaled clock, default by size] [--state-dir DIR, default the temp dir: where the
 *          run store's SQLite file lives]
 * To look closer: EVENTS_OUT=FILE writes the run's events as JSON lines (each with its clock time);
 * PROF_DIR=DIR writes a CPU profile of the sandbox's child process there (`node --cpu-prof --import tsx …`
 * for the engine's, and for both with a virtual clock).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { ScaledClock } from '../src/core/clock.ts';
import { parseVersion } from '../src/core/versions.ts';
import { type RunEvent, startRun } from '../src/engine/index.ts';
import { readSnapshot } from '../src/kube/snapshot.ts';
import { planUpgrade, validatePolicy } from '../src/plan/index.ts';
import { SandboxApiProvider } from '../src/providers/index.ts';
import { Sandbox } from '../src/sandbox/sandbox.ts';
import { parseScenario } from '../src/sandbox/scenario/parse-scenario.ts';
import { RunStore } from '../src/store/index.ts';
import { type BenchSandbox, type SandboxMeasure, startInProcess } from './harness/bench-sandbox.ts';
import { GENERATED_TARGET, generatedScenarioYaml } from './harness/generated-scenario.ts';
import { kubeRequests, requestCounts, requestsSince } from './harness/request-counts.ts';

const CHILD_FLAG = '--sandbox-child';
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const minutes = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;

/** ×25 up to 600 nodes, then less, so the work per clock second stays about the same: ×15 at 1,000, ×3 at 5,000. */
function defaultScale(workers: number): number {
  return Math.max(2, Math.min(25, Math.round(15_000 / workers)));
}

/**
 * A ScaledClock whose time is `origin + (now − origin) × scale` whenever it is made: two processes that
 * make one with the same origin and scale read the same clock time.
 */
function sharedClock(scale: number, origin: number): ScaledClock {
  return new ScaledClock(scale, origin + (Date.now() - origin) * scale);
}

// ---- The sandbox's process ----

interface ChildStart {
  yaml: string;
  scale: number;
  origin: number;
}

type ToChild = { type: 'start'; start: ChildStart } | { type: 'measure-start' | 'measure-end' | 'stop' };
type FromChild =
  | { type: 'ready'; kubeconfig: string; startupMs: number }
  | { type: 'measured'; measure: SandboxMeasure };

async function serveSandbox(): Promise<void> {
  const send = (m: FromChild) => process.send?.(m);
  let box: Sandbox | undefined;
  let before = new Map<string, number>();
  let cpu = process.cpuUsage();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  process.on('message', async (m: ToChild) => {
    if (m.type === 'start') {
      const started = performance.now();
      const { yaml, scale, origin } = m.start;
      const scenario = parseScenario(yaml, 'bench.yaml');
      box = await Sandbox.start({ scenario, clock: sharedClock(scale, origin), tls: true, token: 'bench' });
      await box.waitUntilSettled(10 * 60_000);
      send({ type: 'ready', kubeconfig: box.kubeconfig(), startupMs: performance.now() - started });
    } else if (m.type === 'measure-start' && box) {
      before = await requestCounts(box);
      cpu = process.cpuUsage();
      lag.enable();
    } else if (m.type === 'measure-end' && box) {
      lag.disable();
      const used = process.cpuUsage(cpu);
      const after = await requestCounts(box);
      send({
        type: 'measured',
        measure: {
          requests: requestsSince(before, after),
          violations: box.ctx.violations.length,
          process: {
            cpuMs: (used.user + used.system) / 1000,
            lagP99Ms: lag.percentile(99) / 1e6,
            lagMaxMs: lag.max / 1e6,
          },
        },
      });
    } else if (m.type === 'stop') {
      await box?.stop();
      process.exit(0);
    }
  });
}

/** The sandbox's process, seen from the engine's. */
class SandboxChild {
  private readonly child: ChildProcess;
  private readonly waiting: Array<(m: FromChild) => void> = [];
  private readonly exited: Promise<never>;

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], {
      execArgv: [
        ...process.execArgv,
        ...(process.env.PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROF_DIR}`] : []),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: FromChild) => this.waiting.shift()?.(m));
    this.exited = new Promise((_, reject) =>
      this.child.once('exit', (code) => reject(new Error(`the sandbox process exited (${code})`))),
    );
    this.exited.catch(() => {});
  }

  async ask<T extends FromChild['type']>(m: ToChild, reply: T): Promise<Extract<FromChild, { type: T }>> {
    const answer = new Promise<FromChild>((resolve) => this.waiting.push(resolve));
    this.child.send(m);
    const got = await Promise.race([answer, this.exited]);
    if (got.type !== reply) throw new Error(`the sandbox process answered ${got.type}, not ${reply}`);
    return got as Extract<FromChild, { type: T }>;
  }

  tell(m: ToChild): void {
    this.child.send(m);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'stop' } satisfies ToChild);
    await exited;
  }
}

async function startChild(yaml: string, scale: number, origin: number): Promise<BenchSandbox> {
  const child = new SandboxChild();
  try {
    const ready = await child.ask({ type: 'start', start: { yaml, scale, origin } }, 'ready');
    return {
      kubeconfig: ready.kubeconfig,
      clock: sharedClock(scale, origin),
      startupMs: ready.startupMs,
      clockName: `×${scale}`,
      async measureStart() {
        child.tell({ type: 'measure-start' });
      },
      async measureEnd() {
        return (await child.ask({ type: 'measure-end' }, 'measured')).measure;
      },
      stop: () => child.stop(),
    };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

// ---- The engine's process ----

const policyResult = validatePolicy(
  {
    defaults: { maxUnavailable: '10%' },
    canary: { nodes: 1, soak: '2m' },
    timings: { nodeDrain: '5s', nodeUpgrade: '60s', waveSoak: '30s' },
    provider: { kind: 'sandbox-api' },
  },
  'bench-policy.yaml',
);
if (!policyResult.ok) throw new Error(JSON.stringify(policyResult.errors));
const policy = policyResult.policy;

const FINISHES: Record<string, string | undefined> = {
  drained: 'drain',
  upgraded: 'upgrade',
  verified: 'verify',
};

/**
 * Where a wave's clock time goes, from the run's events: until its last node is done (and the slowest
 * drain, provider and verify of its nodes), the health gate, the soak.
 */
class WaveTimes {
  private readonly steps = new Map<
    string,
    { start: number; nodesDone?: number; soak?: number; end?: number; slowest: Map<string, number> }
  >();
  private readonly marks = new Map<string, number>();

  readonly onEvent = (e: RunEvent): void => {
    if (e.type === 'step-started' && (e.kind === 'canary' || e.kind === 'node-wave'))
      this.steps.set(e.stepId, { start: e.time, slowest: new Map() });
    const step = 'stepId' in e && e.stepId ? this.steps.get(e.stepId) : undefined;
    if (!step) return;
    if (e.type === 'node-changed' && e.activity) {
      const key = `${e.stepId}\u0000${e.node}`;
      if (['drain', 'upgrade', 'verify'].includes(e.activity))
        this.marks.set(`${key}\u0000${e.activity}`, e.time);
      const began = FINISHES[e.activity];
      const from = began === undefined ? undefined : this.marks.get(`${key}\u0000${began}`);
      if (began !== undefined && from !== undefined)
        step.slowest.set(began, Math.max(step.slowest.get(began) ?? 0, e.time - from));
      if (e.activity === 'done') step.nodesDone = Math.max(step.nodesDone ?? 0, e.time);
    }
    if (e.type === 'soak') step.soak = e.time;
    if (e.type === 'step-finished') step.end = e.time;
  };

  describe(): string {
    const done = [...this.steps.values()].filter((s) => s.end !== undefined && s.nodesDone !== undefined);
    const mean = (f: (s: (typeof done)[number]) => number) =>
      seconds(done.reduce((t, s) => t + f(s), 0) / done.length);
    return [
      `all nodes done ${mean((s) => s.nodesDone! - s.start)}`,
      `(slowest drain ${mean((s) => s.slowest.get('drain') ?? 0)}`,
      `provider ${mean((s) => s.slowest.get('upgrade') ?? 0)}`,
      `verify ${mean((s) => s.slowest.get('verify') ?? 0)})`,
      `gate ${mean((s) => (s.soak ?? s.end!) - s.nodesDone!)}`,
      `soak ${mean((s) => (s.soak === undefined ? 0 : s.end! - s.soak))}`,
    ].join(', ');
  }
}

type ClockChoice = { kind: 'virtual' } | { kind: 'scaled'; scale: number };

async function benchSize(workers: number, choice: ClockChoice, stateDir: string): Promise<void> {
  const wallStart = performance.now();
  const yaml = generatedScenarioYaml(workers);
  const sandbox =
    choice.kind === 'virtual'
      ? await startInProcess(parseScenario(yaml, 'bench.yaml'))
      : await startChild(yaml, choice.scale, Date.now());
  const { clock } = sandbox;
  const dir = mkdtempSync(join(stateDir, 'midflight-bench-'));
  const store = RunStore.open(join(dir, 'state.db'), { clock });
  try {
    const kc = new KubeConfig();
    kc.loadFromString(sandbox.kubeconfig);
    const plan = planUpgrade(await readSnapshot(kc, { clock }), parseVersion(GENERATED_TARGET), policy);
    const setupMs = performance.now() - wallStart;

    await sandbox.measureStart();
    const loadBefore = loadavg()[0]!;
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const cpuBefore = process.cpuUsage();
    const runStart = performance.now();
    const waves = new WaveTimes();
    const eventsOut = process.env.EVENTS_OUT ? createWriteStream(process.env.EVENTS_OUT) : undefined;
    const onEvent = (e: RunEvent) => {
      waves.onEvent(e);
      eventsOut?.write(`${JSON.stringify(e)}\n`);
    };
    const provider = new SandboxApiProvider(kc, clock);
    const deps = { kc, store, provider, clock, onEvent };
    const summary = await startRun(deps, plan, {
      // Note: the default 30 s lease is 1.2 s of wall time at ×25; a stalled event loop would lose it.
      leaseDurationSeconds: 120,
    });
    eventsOut?.end();
    const runMs = performance.now() - runStart;
    const used = process.cpuUsage(cpuBefore);
    const cpuMs = (used.user + used.system) / 1000;
    lag.disable();
    const measure = await sandbox.measureEnd();

    const { perKind, total: requests, refused } = kubeRequests(measure.requests, provider.requests);
    const providerRequests = provider.requests.GET + provider.requests.POST;
    const nodePhases = summary.phases.filter((p) => p.kind === 'canary' || p.kind === 'node-pool');
    const nodePhaseMs = nodePhases.reduce((s, p) => s + (p.durationMs ?? 0), 0);
    const boundMs = plan.estimate.nodePhaseLowerBoundSeconds * 1000;
    const estimateMs = plan.estimate.nodePhaseSeconds * 1000;
    const perNode = (ms: number) => `${(ms / workers).toFixed(1)} ms`;

    console.log(`upgrade ${workers} workers (+1 control plane at target), clock ${sandbox.clockName}`);
    console.log(
      `  run                      ${summary.state}${summary.reason ? ` (${summary.reason})` : ''}: ${summary.nodes.upgraded.length} upgraded, ${summary.nodes.failed.length} failed, ${measure.violations} budget violations`,
    );
    console.log(
      `  wall time                ${seconds(runMs)} run, ${seconds(performance.now() - wallStart)} with start-up and plan (${seconds(setupMs)}, sandbox ${seconds(sandbox.startupMs)})${workers === 1000 ? ' (target < 120 s)' : ''}`,
    );
    console.log(
      `  API requests             ${requests} during the run, ${(requests / workers).toFixed(1)} per node (and ${(providerRequests / workers).toFixed(1)} per node to the provider's upgrade API)`,
    );
    console.log(
      `    most                   ${perKind
        .slice(0, 6)
        .map(([k, n]) => `${k} ${(n / workers).toFixed(1)}`)
        .join(', ')}; ${(refused / workers).toFixed(2)} evictions refused by a budget (429)`,
    );
    console.log(
      `  node phase (clock)       ${minutes(nodePhaseMs)} vs lower bound ${minutes(boundMs)}: ×${(nodePhaseMs / boundMs).toFixed(3)} (target ≤ ×1.15)`,
    );
    console.log(
      `    plan                   ${plan.estimate.nodeWaves} wave(s), estimate ${minutes(estimateMs)} (×${(estimateMs / boundMs).toFixed(3)} of the bound); measured ×${(nodePhaseMs / estimateMs).toFixed(3)} of the estimate`,
    );
    console.log(`    per wave (mean)        ${waves.describe()}`);
    console.log(
      `  whole run (clock)        ${minutes(summary.durationMs)}: ${summary.phases.map((p) => `${p.kind} ${seconds(p.durationMs ?? 0)}`).join(', ')}`,
    );
    const child = measure.process;
    if (child) {
      const inClock = (wallMs: number) => seconds(wallMs * clock.scale);
      console.log(`  CPU per node             engine ${perNode(cpuMs)}, sandbox ${perNode(child.cpuMs)}`);
      console.log(
        `  event-loop delay (clock) engine p99 ${inClock(lag.percentile(99) / 1e6)}, max ${inClock(lag.max / 1e6)}; sandbox p99 ${inClock(child.lagP99Ms)}, max ${inClock(child.lagMaxMs)}`,
      );
    } else {
      console.log(`  CPU per node             engine and sandbox together ${perNode(cpuMs)} (one process)`);
    }
    console.log(
      `  machine                  load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after, ${availableParallelism()} cores`,
    );
  } finally {
    store.close();
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const at = args.indexOf(name);
    return at >= 0 ? args.splice(at, 2)[1] : undefined;
  };
  const scale = option('--scale');
  const clockKind = option('--clock') ?? (scale === undefined ? 'virtual' : 'scaled');
  const stateDir = option('--state-dir') ?? tmpdir();
  const sizes = args.length > 0 ? args.map(Number) : [100, 1000, 5000];
  const badScale = scale !== undefined && (!(Number(scale) > 0) || clockKind !== 'scaled');
  if (
    sizes.some((n) => !Number.isInteger(n) || n < 10) ||
    badScale ||
    !['virtual', 'scaled'].includes(clockKind)
  ) {
    console.error(
      'usage: npx tsx bench/upgrade-scale.ts [sizes (integers ≥ 10)…] [--clock virtual|scaled] [--scale N (scaled)] [--state-dir DIR]',
    );
    process.exit(2);
  }
  for (const workers of sizes) {
    const choice: ClockChoice =
      clockKind === 'virtual'
        ? { kind: 'virtual' }
        : { kind: 'scaled', scale: scale === undefined ? defaultScale(workers) : Number(scale) };
    await benchSize(workers, choice, stateDir);
  }
}

if (process.argv.includes(CHILD_FLAG)) await serveSandbox();
else await main();

/**
 * Health gates in the engine: a gate's baseline is stored with the run before the first node is touched, the
 * gates are asked before each admission and through each soak, and a failing gate pauses the run (the nodes
 * in flight finish, none is left cordoned) or rolls its wave back. Fail closed: a gate that cannot measure
 * stops the run.
 *
 * The gates here are real ones over the sandbox's own signals, read over HTTP as any gate reads a cluster:
 * etcd members' readiness from their static pods (Kubernetes API), a service's 5xx ratio from the sandbox's
 * Prometheus metrics (/metrics). They implement the GateMonitor contract of src/gates in a few lines.
 */
import { readFileSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { statusOf } from '../../src/cli/commands/runs.ts';
import { renderStatus } from '../../src/cli/render-run.ts';
import { finishRun } from '../../src/cli/run-session.ts';
import { createRunView } from '../../src/cli/run-view.ts';
import { type RunEvent, resumeRun, startRun } from '../../src/engine/index.ts';
import type {
  GateDecision,
  GateEvaluation,
  GateMonitor,
  GateMonitorDeps,
} from '../../src/gates/gate-types.ts';
import { requestRaw } from '../../src/kube/client.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import { patchFaults } from '../kube/sandbox-faults.ts';
import {
  expectUpgraded,
  FAST,
  FAST_TIMING,
  HeldProvider,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  startCluster,
  testPolicy,
} from './engine-harness.ts';

/** What a gate measures and when it fails; the monitor below adds intervals, baselines and verdicts. */
interface Measure {
  gate: string;
  query: string;
  intervalMs: number;
  /** The baseline is the value over this window of the run's clock, before the first node. */
  windowMs: number;
  onFailure: 'pause' | 'rollback';
  /** The current value; throws when it cannot be measured; undefined: no new sample yet. */
  read(): Promise<number | undefined>;
  /** Why `value` fails against `baseline`, or undefined when it passes. */
  fails(value: number, baseline: number): string | undefined;
}

/**
 * One gate as a GateMonitor: its baseline is measured unless given, then it is evaluated every `intervalMs`
 * of the run's clock; between evaluations it keeps its last decision. A value that cannot be read is
 * inconclusive and pauses (fail closed). `escapeErrors`: let a read's failure escape check() instead.
 */
class MeasuredGate implements GateMonitor {
  /** The `known` baselines each call of baseline() was given. */
  readonly knownGiven: Array<Record<string, number>> = [];
  private base?: number;
  private next = 0;
  private decision: GateDecision = { action: 'continue' };

  constructor(
    private readonly m: Measure,
    private readonly deps: GateMonitorDeps,
    private readonly escapeErrors = false,
  ) {}

  async baseline(known: Record<string, number>): Promise<Record<string, number>> {
    this.knownGiven.push({ ...known });
    const given = known[this.m.gate];
    if (given !== undefined) {
      this.base = given;
      return known;
    }
    // The first reading starts the window (a ratio of counters needs two); the value is read at its end.
    await this.m.read();
    await this.deps.clock.sleep(this.m.windowMs);
    const value = await this.m.read();
    if (value === undefined) throw new Error(`${this.m.gate}: no sample over its baseline window`);
    this.base = value;
    return { ...known, [this.m.gate]: value };
  }

  async check(): Promise<GateDecision> {
    const now = this.deps.clock.now();
    if (now < this.next) return this.decision;
    const { gate, query } = this.m;
    let e: GateEvaluation;
    try {
      const value = await this.m.read();
      if (value === undefined) return this.decision;
      const failure = this.m.fails(value, this.base!);
      e = { gate, query, time: now, value, baseline: this.base, verdict: failure ? 'failure' : 'success' };
      this.decision = failure ? { action: this.m.onFailure, gate, reason: failure } : { action: 'continue' };
    } catch (err) {
      if (this.escapeErrors) throw err;
      const error = (err as Error).message;
      e = { gate, query, time: now, baseline: this.base, verdict: 'inconclusive', error };
      this.decision = { action: 'pause', gate, reason: `inconclusive: ${error}` };
    }
    this.next = now + this.m.intervalMs;
    this.deps.onEvaluation?.(e);
    return this.decision;
  }
}

/** M6-like, kube-native: how many etcd members are Ready (their static pods), never fewer than at the start. */
function etcdMembersReady(sandbox: RunningSandbox): Measure {
  const core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
  let notReady: string[] = [];
  return {
    gate: 'etcd-members',
    query: 'kube-system pods component=etcd, Ready',
    intervalMs: 2_000,
    windowMs: 0,
    onFailure: 'pause',
    async read() {
      const pods = await core.listNamespacedPod({
        namespace: 'kube-system',
        labelSelector: 'component=etcd',
      });
      const ready = (p: (typeof pods.items)[number]) =>
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
      notReady = pods.items.filter((p) => !ready(p)).map((p) => p.metadata!.name!);
      return pods.items.length - notReady.length;
    },
    fails: (value, baseline) =>
      value < baseline ? `${notReady.join(', ')} not Ready (${value} of ${baseline} members)` : undefined,
  };
}

/** Sums the sandbox's request counters of one service from its /metrics: [all, 5xx]. */
async function serviceRequests(sandbox: RunningSandbox, service: string): Promise<[number, number]> {
  const res = await requestRaw(sandbox.kubeConfig(), 'GET', '/metrics');
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  let all = 0;
  let errors = 0;
  let found = false;
  for (const line of res.body.split('\n')) {
    const m = /^http_requests_total\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || !m[1]!.includes(`service="${service}"`)) continue;
    found = true;
    const n = Number(m[2]);
    all += n;
    if (/code="5\d\d"/.test(m[1]!)) errors += n;
  }
  if (!found) throw new Error(`no series http_requests_total{service="${service}"}`);
  return [all, errors];
}

/**
 * M5-like: a service's 5xx ratio since the previous reading (counter deltas, as PromQL's increase() takes
 * them); fails above 5× its baseline, and never below 0.5 % (a ratio of a few requests is noise).
 */
function errorRatio(sandbox: RunningSandbox, service: string, onFailure: 'pause' | 'rollback'): Measure {
  let last: [number, number] | undefined;
  return {
    gate: `${service}-5xx`,
    query: `increase(http_requests_total{service="${service}",code=~"5.."}) / increase(http_requests_total{service="${service}"})`,
    // Note: the sandbox's traffic moves every 5 s of its clock: an interval of two ticks always has requests.
    intervalMs: 10_000,
    windowMs: 30_000,
    onFailure,
    async read() {
      const now = await serviceRequests(sandbox, service);
      const before = last;
      if (!before || now[0] <= before[0]) {
        last ??= now;
        return undefined;
      }
      last = now;
      return (now[1] - before[1]) / (now[0] - before[0]);
    },
    fails: (value, baseline) => {
      const limit = Math.max(5 * baseline, 0.005);
      return value > limit
        ? `${service} answers ${(value * 100).toFixed(2)} % 5xx, above ${(limit * 100).toFixed(2)} %`
        : undefined;
    },
  };
}

async function waitForEtcd(sandbox: RunningSandbox, node: string, ready: boolean): Promise<void> {
  const core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
  const want = ready ? 'True' : 'False';
  for (let i = 0; ; i++) {
    const pod = await core.readNamespacedPod({ namespace: 'kube-system', name: `etcd-${node}` });
    if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === want)) return;
    // Note: the sandbox probes etcd every 10 s of its clock (a quarter second here); 20 s of wall time is plenty.
    if (i > 800) throw new Error(`etcd-${node} never turned Ready=${want}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Control plane at the target; four workers, two in flight at once, no canary. */
const FOUR_WORKERS = `
name: engine-gates
kubernetesVersion: v1.31.2
seed: 13
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 4, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 4, pdb: { maxUnavailable: 2 } }
${FAST_TIMING}`;

const FLOW_POLICY = testPolicy({
  canary: { nodes: 0 },
  timings: { waveSoak: '0s' },
  defaults: { maxUnavailable: 2 },
});

const gateEvents = (events: RunEvent[]) =>
  events.flatMap((e) => (e.type === 'gate-evaluated' ? [e.evaluation] : []));

describe('health gates in the engine', () => {
  it('a gate failing mid-flow pauses the run: the nodes in flight finish, none stays cordoned; resume re-checks, and continues with the stored baseline once the gate passes', async () => {
    const sandbox = await startCluster(FOUR_WORKERS);
    // The first two nodes' upgrades wait until etcd on cp-1 is down: the gate fails while they are in flight.
    let etcdDown: Promise<void> | undefined;
    const provider = new HeldProvider(new SandboxApiProvider(sandbox), async () => {
      etcdDown ??= patchFaults(sandbox, { etcdUnhealthy: ['cp-1'] }).then(() =>
        waitForEtcd(sandbox, 'cp-1', false),
      );
      await etcdDown;
    });
    const h = harness(sandbox, provider);
    const monitors: MeasuredGate[] = [];
    h.deps.gates = (_specs, deps) => {
      const gate = new MeasuredGate(etcdMembersReady(sandbox), deps);
      monitors.push(gate);
      return gate;
    };
    try {
      const plan = await planFor(sandbox, 'v1.31.2', FLOW_POLICY);
      const summary = await startRun(h.deps, plan, FAST);

      expect(summary.state).toBe('paused');
      expect(summary.reason).toBe('health gate etcd-members: etcd-cp-1 not Ready (0 of 1 members)');
      // The two in flight finished; the other two were never admitted.
      expect(summary.nodes.upgraded).toHaveLength(2);
      const after = await nodes(sandbox);
      expect(after.filter((n) => n.unschedulable)).toEqual([]);
      const untouched = after.filter((n) => n.version === 'v1.30.6').map((n) => n.name);
      expect(untouched).toHaveLength(2);
      const store = h.deps.store;
      for (const node of untouched)
        expect(store.stepStates(summary.runId).some((r) => r.node === node)).toBe(false);

      // The baseline was taken before the first node and stored with the run.
      expect(store.gateBaselines(summary.runId)).toEqual({ 'etcd-members': 1 });
      expect(monitors[0]!.knownGiven).toEqual([{}]);
      // Every evaluation is stored and announced; the failing one is the latest.
      const stored = store.gateEvaluations(summary.runId);
      expect(stored.map(({ id: _id, runId: _run, ...e }) => e)).toEqual(gateEvents(h.events));
      expect(store.gateEvaluations(summary.runId, { latest: true })).toMatchObject([
        { gate: 'etcd-members', verdict: 'failure', value: 0, baseline: 1 },
      ]);
      expect(store.logs(summary.runId).map((l) => l.message)).toContain(
        'health gate etcd-members: etcd-cp-1 not Ready (0 of 1 members): pausing once the nodes in flight finish',
      );

      // `status` shows each gate's latest evaluation; the plain-lines view printed each change of verdict.
      const status = renderStatus(await statusOf(store, store.mustGetRun(summary.runId), undefined));
      expect(status).toMatch(
        /Health gates \(latest evaluation of each\):\n\s*GATE\s+VERDICT\s+VALUE\s+BASELINE\s+AT\n\s*etcd-members\s+failure\s+0\s+1\s+\d{4}-/,
      );
      const printed: string[] = [];
      const view = createRunView('lines', plan, h.deps.clock, {
        write: (text: string) => printed.push(text),
      } as unknown as NodeJS.WriteStream);
      for (const e of h.events) view.onEvent(e);
      expect(printed.filter((l) => /^( {2}gate |warning: health gate)/.test(l))).toEqual([
        '  gate baselines recorded before the first node: etcd-members=1\n',
        '  gate etcd-members success: 1 (baseline 1)\n',
        '  gate etcd-members failure: 0 (baseline 1)\n',
        'warning: health gate etcd-members: etcd-cp-1 not Ready (0 of 1 members): pausing once the nodes in flight finish\n',
      ]);

      // The live view's last frame shows each gate's latest verdict, value and baseline.
      let drawn = '';
      const live = createRunView('live', plan, h.deps.clock, {
        isTTY: true,
        columns: 120,
        write: (text: string) => {
          drawn += text;
          return true;
        },
      } as unknown as NodeJS.WriteStream);
      for (const e of h.events) live.onEvent(e);
      live.close();
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the view's cursor movement splits its frames.
      expect(drawn.split(/\x1b\[\d+F\x1b\[J/).at(-1)).toContain(
        ' health gates:\n   ✗ etcd-members failure: 0 (baseline 1)\n',
      );

      // Resumed while the gate still fails: it checks again before admitting anything, and pauses again.
      const again = await resumeRun(h.deps, summary.runId, FAST);
      expect(again.state).toBe('paused');
      expect(again.reason).toBe(summary.reason);
      expect((await nodes(sandbox)).filter((n) => n.version === 'v1.30.6')).toHaveLength(2);
      expect(monitors[1]!.knownGiven).toEqual([{ 'etcd-members': 1 }]);

      // Repaired: the resumed run compares with the baseline stored at the start, passes, and finishes.
      await patchFaults(sandbox, { etcdUnhealthy: [] });
      await waitForEtcd(sandbox, 'cp-1', true);
      const resumed = await resumeRun(h.deps, summary.runId, FAST);
      expect(resumed.state).toBe('succeeded');
      await expectUpgraded(sandbox, 'v1.31.2');
      expect(monitors[2]!.knownGiven).toEqual([{ 'etcd-members': 1 }]);
      expect(store.gateBaselines(summary.runId)).toEqual({ 'etcd-members': 1 });
      expect(store.gateEvaluations(summary.runId, { latest: true })).toMatchObject([
        { gate: 'etcd-members', verdict: 'success', value: 1, baseline: 1 },
      ]);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it('a gate failing during a soak pauses the run there; resumed in the soak, the gates get the stored baselines before they judge', async () => {
    const sandbox = await startCluster(FOUR_WORKERS);
    // The canary's upgrade waits until etcd on cp-1 is down: the gate fails during the canary's soak.
    let etcdDown: Promise<void> | undefined;
    const provider = new HeldProvider(new SandboxApiProvider(sandbox), async () => {
      etcdDown ??= patchFaults(sandbox, { etcdUnhealthy: ['cp-1'] }).then(() =>
        waitForEtcd(sandbox, 'cp-1', false),
      );
      await etcdDown;
    });
    const h = harness(sandbox, provider);
    const monitors: MeasuredGate[] = [];
    h.deps.gates = (_specs, deps) => {
      const gate = new MeasuredGate(etcdMembersReady(sandbox), deps);
      monitors.push(gate);
      return gate;
    };
    try {
      const plan = await planFor(sandbox, 'v1.31.2', testPolicy({ canary: { nodes: 1, soak: '60s' } }));
      const canary = plan.phases.flatMap((p) => p.steps).find((s) => s.kind === 'canary')!;
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.state).toBe('paused');
      expect(summary.reason).toBe('health gate etcd-members: etcd-cp-1 not Ready (0 of 1 members)');
      expect(summary.nodes.upgraded).toEqual(canary.nodes);
      const soakUntil = h.deps.store.stepState(summary.runId, canary.id)?.detail;
      expect(soakUntil).toMatchObject({ nodesDone: true, soakUntil: expect.any(Number) });

      await patchFaults(sandbox, { etcdUnhealthy: [] });
      await waitForEtcd(sandbox, 'cp-1', true);
      const resumed = await resumeRun(h.deps, summary.runId, FAST);
      expect(resumed.state).toBe('succeeded');
      await expectUpgraded(sandbox, 'v1.31.2');
      expect(monitors[1]!.knownGiven).toEqual([{ 'etcd-members': 1 }]);
      // The soak went on from where it stopped: its end was fixed when it started.
      expect(h.deps.store.stepState(summary.runId, canary.id)?.detail).toMatchObject(soakUntil!);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it('a rollback asked before any node of the wave is upgraded pauses instead: nothing of the wave to return', async () => {
    const sandbox = await startCluster(FOUR_WORKERS);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    h.deps.gates = (_specs, deps) => {
      const gate = new MeasuredGate({ ...etcdMembersReady(sandbox), onFailure: 'rollback' }, deps);
      return {
        // etcd on cp-1 goes down once the baseline is taken: the first admission's check fails.
        baseline: async (known) => {
          const taken = await gate.baseline(known);
          await patchFaults(sandbox, { etcdUnhealthy: ['cp-1'] });
          await waitForEtcd(sandbox, 'cp-1', false);
          return taken;
        },
        check: () => gate.check(),
      };
    };
    try {
      const plan = await planFor(sandbox, 'v1.31.2', FLOW_POLICY);
      const wave = plan.phases.flatMap((p) => p.steps).find((s) => s.kind === 'node-wave')!;
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.state).toBe('paused');
      expect(summary.mode).toBe('upgrade');
      expect(summary.reason).toBe(
        `health gate etcd-members: etcd-cp-1 not Ready (0 of 1 members); ${wave.id} has no upgraded node to roll back: paused`,
      );
      expect(summary.nodes.upgraded).toEqual([]);
      expect(h.deps.store.stepStates(summary.runId).filter((r) => r.node !== '')).toEqual([]);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it('fail closed: a gate that cannot take its baseline pauses the run before any node is touched', async () => {
    const sandbox = await startCluster(FOUR_WORKERS);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    h.deps.gates = (_specs, deps) => new MeasuredGate(errorRatio(sandbox, 'nowhere', 'pause'), deps);
    try {
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2', FLOW_POLICY), FAST);
      expect(summary.state).toBe('paused');
      expect(summary.reason).toBe(
        'health gates: cannot record their baselines: no series http_requests_total{service="nowhere"}',
      );
      expect(summary.nodes.upgraded).toEqual([]);
      expect(h.deps.store.stepStates(summary.runId).filter((r) => r.node !== '')).toEqual([]);
      expect(h.deps.store.gateBaselines(summary.runId)).toEqual({});
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it.each([
    ['is inconclusive', false, /^health gate etcd-members: inconclusive: .*503/],
    ['makes the monitor throw', true, /^health gates cannot be evaluated: .*503/],
  ])(
    'fail closed: a gate whose query breaks after its baseline %s, and pauses the run before any node is touched',
    async (_what, escapeErrors, reason) => {
      const sandbox = await startCluster(FOUR_WORKERS);
      const h = harness(sandbox, new SandboxApiProvider(sandbox));
      h.deps.gates = (_specs, deps) => {
        const gate = new MeasuredGate(etcdMembersReady(sandbox), deps, escapeErrors);
        return {
          // The API server starts refusing to list pods once the baseline is taken: the gate's query breaks.
          baseline: async (known) => {
            const taken = await gate.baseline(known);
            await patchFaults(sandbox, {
              api: { errorRate: 1, code: 503, verbs: ['list'], resources: ['pods'] },
            });
            return taken;
          },
          check: () => gate.check(),
        };
      };
      try {
        const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2', FLOW_POLICY), FAST);
        await patchFaults(sandbox, { api: { errorRate: 0 } });
        expect(summary.state).toBe('paused');
        expect(summary.reason).toMatch(reason);
        expect(summary.nodes.upgraded).toEqual([]);
        expect(h.deps.store.stepStates(summary.runId).filter((r) => r.node !== '')).toEqual([]);
        if (!escapeErrors)
          expect(h.deps.store.gateEvaluations(summary.runId)).toMatchObject([
            { gate: 'etcd-members', verdict: 'inconclusive', baseline: 1 },
          ]);
        expect((await nodes(sandbox)).filter((n) => n.unschedulable)).toEqual([]);
      } finally {
        h.cleanup();
        await sandbox.stop();
      }
    },
    60_000,
  );

  it('regression: the canary moves no service, the pool wave does; its 5xx gate rolls the wave back through the rollback path', async () => {
    // The built-in scenario, with the engine tests' fast physics: services on kubelet v1.32.0 answer 8 % 5xx.
    const scenario = readFileSync('src/sandbox/scenarios/regression.yaml', 'utf8');
    const sandbox = await startCluster(`${scenario}\n${FAST_TIMING}`);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    h.deps.gates = (_specs, deps) => new MeasuredGate(errorRatio(sandbox, 'storefront', 'rollback'), deps);
    try {
      const plan = await planFor(
        sandbox,
        'v1.32.0',
        testPolicy({ canary: { nodes: 1, soak: '20s' }, timings: { waveSoak: '30s' } }),
      );
      const canary = plan.phases.flatMap((p) => p.steps).find((s) => s.kind === 'canary')!;
      const wave = plan.phases.flatMap((p) => p.steps).find((s) => s.kind === 'node-wave')!;
      const summary = await startRun(h.deps, plan, FAST);

      expect(summary.state).toBe('rolled-back');
      expect(summary.mode).toBe('rollback');
      expect(summary.reason).toMatch(
        new RegExp(
          `^health gate storefront-5xx: storefront answers [\\d.]+ % 5xx, above [\\d.]+ %; ${wave.id}: rolled back; left at v1.32.0 \\(upgraded by earlier steps\\): ${canary.nodes[0]}; \`midflight rollback ${summary.runId}\` returns them too$`,
        ),
      );
      // The wave's upgraded nodes are back at their version; the canary's node stays; none is cordoned.
      expect(summary.nodes.rolledBack.length).toBeGreaterThan(0);
      for (const node of summary.nodes.rolledBack) expect(wave.nodes).toContain(node);
      const after = await nodes(sandbox);
      expect(after.filter((n) => n.unschedulable)).toEqual([]);
      const workers = after.filter((n) => n.name.startsWith('general-'));
      expect(workers.filter((n) => n.version === 'v1.32.0').map((n) => n.name)).toEqual(canary.nodes);
      const { items } = await sandbox.admin<{ items: unknown[] }>('/sandbox/v1/violations');
      expect(items).toEqual([]);
      // The gate's failing evaluation is on record, against the baseline taken before the first node.
      const store = h.deps.store;
      const baseline = store.gateBaselines(summary.runId)['storefront-5xx'];
      expect(baseline).toBeLessThan(0.005);
      expect(store.gateEvaluations(summary.runId, { latest: true })).toMatchObject([
        { gate: 'storefront-5xx', verdict: 'failure', baseline },
      ]);
      expect(store.mustGetRun(summary.runId).rollbackScope).toEqual([wave.id]);
      // To a script, an upgrade a gate rolled back did not go through.
      expect(summary.rollbackScope).toEqual([wave.id]);
      expect(finishRun(summary, 'json')).toBe(1);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 120_000);
});

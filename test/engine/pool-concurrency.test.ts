/**
 * Pools flowing side by side (policy.poolConcurrency) on the sandbox: two pools' waves run at once, each
 * within its own maxUnavailable, never more nodes in flight across them than the run-wide cap; a slot one
 * pool frees is taken by the other; a pause stops both; a kill in the middle resumes both with nothing
 * upgraded twice and nothing left cordoned.
 *
 * Note: a provider wrapper holds chosen nodes' upgrades until the test lets them go (or a clock limit
 * passes, so a regression fails on the events instead of hanging). The cluster is still reached over HTTP.
 */
import { describe, expect, it } from 'vitest';
import { type RunEvent, resumeRun, startRun } from '../../src/engine/index.ts';
import type { NodeWaveStep, Plan } from '../../src/plan/index.ts';
import {
  CountingProvider,
  CrashError,
  expectUpgraded,
  FAST,
  FAST_TIMING,
  HeldProvider,
  harness,
  latch,
  nodes,
  planFor,
  SandboxApiProvider,
  startCluster,
  testPolicy,
  VersionWatch,
} from './engine-harness.ts';

const TARGET = 'v1.31.2';

/** Two pools to upgrade: compute (2 nodes) first in the plan's order, general (3 nodes) after it. */
const TWO_POOLS_CLUSTER = `
name: engine-two-pools
kubernetesVersion: v1.31.2
seed: 17
controlPlane: { nodes: 1 }
nodePools:
  - { name: compute, count: 2, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi } }
  - { name: general, count: 3, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 4 }
${FAST_TIMING}`;

/** Each pool may have 2 nodes out; 2 across the run; no canary and no soak: only the flows decide. */
const TOGETHER_POLICY = testPolicy({
  canary: { nodes: 0 },
  timings: { waveSoak: '0s' },
  defaults: { maxUnavailable: 2 },
  pools: [{ name: 'compute' }, { name: 'general' }],
  poolConcurrency: { maxInFlight: 2 },
});

type NodeChanged = Extract<RunEvent, { type: 'node-changed' }>;

/** Each node's pool, from the plan's waves; and the waves, which must be two pools flowing together. */
function poolsOf(plan: Plan): Map<string, string> {
  const waves = plan.phases.flatMap((p) => p.steps).filter((s): s is NodeWaveStep => s.kind === 'node-wave');
  expect(waves.map((w) => [w.pool, w.nodes.length, w.maxInFlight])).toEqual([
    ['compute', 2, 2],
    ['general', 3, 2],
  ]);
  const groups = plan.phases.filter((p) => p.kind === 'node-pool').map((p) => p.flowGroup);
  expect(groups[0]).toBeDefined();
  expect(groups).toEqual([groups[0], groups[0]]);
  return new Map(waves.flatMap((w) => w.nodes.map((n) => [n, w.pool] as const)));
}

/** Admissions and finishes in order: [kind, node]. */
function flowOf(events: RunEvent[]): Array<{ what: 'in' | 'out'; node: string }> {
  return events
    .filter(
      (e): e is NodeChanged =>
        e.type === 'node-changed' && (e.activity === 'admitted' || e.activity === 'done'),
    )
    .map((e) => ({ what: e.activity === 'admitted' ? 'in' : 'out', node: e.node }));
}

/** The most nodes in flight at once, across the run and per pool. */
function mostInFlight(
  flow: ReturnType<typeof flowOf>,
  poolOf: Map<string, string>,
): { run: number; pools: Record<string, number> } {
  const now = new Map<string, number>();
  const most: Record<string, number> = {};
  let run = 0;
  let mostRun = 0;
  for (const { what, node } of flow) {
    const pool = poolOf.get(node)!;
    const d = what === 'in' ? 1 : -1;
    now.set(pool, (now.get(pool) ?? 0) + d);
    run += d;
    most[pool] = Math.max(most[pool] ?? 0, now.get(pool)!);
    mostRun = Math.max(mostRun, run);
  }
  return { run: mostRun, pools: most };
}

describe('pools flowing together (policy.poolConcurrency)', () => {
  it('runs two pools at once within the run-wide cap and each pool’s limit; a slot one frees goes to the other', async () => {
    const sandbox = await startCluster(TWO_POOLS_CLUSTER);
    const computeDone = latch();
    let poolOf = new Map<string, string>();
    let h: ReturnType<typeof harness> | undefined;
    // general's upgrades wait until compute's nodes are done (or a clock limit): compute's slots must then
    // go to general, the only pool with nodes left.
    const provider = new CountingProvider(
      new HeldProvider(new SandboxApiProvider(sandbox), (node) =>
        poolOf.get(node) === 'general'
          ? Promise.race([computeDone.promise, h!.deps.clock.sleep(300_000)])
          : undefined,
      ),
    );
    h = harness(sandbox, provider);
    try {
      const plan = await planFor(sandbox, TARGET, TOGETHER_POLICY);
      poolOf = poolsOf(plan);
      h.deps.onEvent = (e) => {
        h!.events.push(e);
        const done = flowOf(h!.events).filter((f) => f.what === 'out' && poolOf.get(f.node) === 'compute');
        if (done.length === 2) computeDone.open();
      };
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');

      const flow = flowOf(h.events);
      expect(flow).toHaveLength(10);
      const most = mostInFlight(flow, poolOf);
      expect(most.run).toBe(2);
      expect(most.pools.compute).toBeLessThanOrEqual(2);
      expect(most.pools.general).toBeLessThanOrEqual(2);
      // Both pools had a node in flight at the same moment: they flowed together, not one after the other.
      let inFlight = new Set<string>();
      let together = false;
      for (const f of flow) {
        inFlight = new Set(inFlight);
        if (f.what === 'in') inFlight.add(f.node);
        else inFlight.delete(f.node);
        if (new Set([...inFlight].map((n) => poolOf.get(n))).size === 2) together = true;
      }
      expect(together).toBe(true);
      // A slot freed by one pool while the cap was full was the other pool's next admission.
      let run = 0;
      const handOvers: string[] = [];
      flow.forEach((f, i) => {
        if (f.what === 'out' && run === 2 && flow[i + 1]?.what === 'in') {
          const next = flow[i + 1]!.node;
          if (poolOf.get(next) !== poolOf.get(f.node)) handOvers.push(`${f.node} → ${next}`);
        }
        run += f.what === 'in' ? 1 : -1;
      });
      expect(handOvers.length).toBeGreaterThan(0);
      await expectUpgraded(sandbox, TARGET);
      for (const node of poolOf.keys())
        expect({ node, calls: provider.calls.get(node) }).toEqual({ node, calls: 1 });
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it('a pause stops admissions in both pools; their nodes in flight finish; resume completes both', async () => {
    const sandbox = await startCluster(TWO_POOLS_CLUSTER);
    const paused = latch();
    let poolOf = new Map<string, string>();
    let h: ReturnType<typeof harness> | undefined;
    // Every upgrade waits for the pause (or a clock limit), so both pools are mid-flow when it comes.
    const provider = new CountingProvider(
      new HeldProvider(new SandboxApiProvider(sandbox), () =>
        Promise.race([paused.promise, h!.deps.clock.sleep(300_000)]),
      ),
    );
    h = harness(sandbox, provider);
    try {
      const plan = await planFor(sandbox, TARGET, {
        ...TOGETHER_POLICY,
        poolConcurrency: { maxInFlight: 3 },
      });
      poolOf = poolsOf(plan);
      let admittedAtPause = -1;
      h.deps.onEvent = (e) => {
        h!.events.push(e);
        const inUpgrade = h!.events.filter(
          (x): x is NodeChanged => x.type === 'node-changed' && x.activity === 'upgrade',
        );
        const pools = new Set(inUpgrade.map((x) => poolOf.get(x.node)));
        if (admittedAtPause < 0 && inUpgrade.length === 3 && pools.size === 2) {
          admittedAtPause = flowOf(h!.events).filter((f) => f.what === 'in').length;
          h!.deps.store.requestAction(summaryRunId(h!.events), 'pause');
          // Note: the run reads the request on its next control poll; the held upgrades go once it has.
          void h!.deps.clock.sleep(3 * FAST.controlPollMs).then(paused.open);
        }
      };
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.state).toBe('paused');
      expect(admittedAtPause).toBe(3);
      const flow = flowOf(h.events);
      // No node of either pool was admitted after the pause; the three in flight finished.
      expect(flow.filter((f) => f.what === 'in')).toHaveLength(3);
      expect(flow.filter((f) => f.what === 'out')).toHaveLength(3);
      expect((await nodes(sandbox)).filter((n) => n.unschedulable)).toEqual([]);

      const resumed = await resumeRun(h.deps, summary.runId, FAST);
      expect(resumed.reason).toBeUndefined();
      expect(resumed.state).toBe('succeeded');
      await expectUpgraded(sandbox, TARGET);
      for (const node of poolOf.keys())
        expect({ node, calls: provider.calls.get(node) }).toEqual({ node, calls: 1 });
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it('a pool that fails halts admissions in the other, whose nodes in flight finish; resume completes both', async () => {
    const sandbox = await startCluster(TWO_POOLS_CLUSTER);
    const real = new SandboxApiProvider(sandbox);
    let poolOf = new Map<string, string>();
    let h: ReturnType<typeof harness> | undefined;
    const generalInUpgrade = latch();
    const failed = latch();
    let failedAt = -1;
    let failures = 0;
    // compute's first node fails (a bug: not retried) once general has a node in its upgrade; general's
    // upgrades wait for that failure (or a clock limit), so they are in flight when it comes.
    const provider = new CountingProvider({
      kind: 'buggy',
      async upgradeNode(ctx) {
        const limit = () => h!.deps.clock.sleep(300_000);
        if (poolOf.get(ctx.node) === 'compute' && failures === 0) {
          failures++;
          await Promise.race([generalInUpgrade.promise, limit()]);
          failedAt = flowOf(h!.events).length;
          failed.open();
          throw new TypeError(`simulated bug upgrading ${ctx.node}`);
        }
        if (poolOf.get(ctx.node) === 'general') await Promise.race([failed.promise, limit()]);
        return real.upgradeNode(ctx);
      },
    });
    h = harness(sandbox, provider);
    try {
      const plan = await planFor(sandbox, TARGET, {
        ...TOGETHER_POLICY,
        poolConcurrency: { maxInFlight: 3 },
      });
      poolOf = poolsOf(plan);
      h.deps.onEvent = (e) => {
        h!.events.push(e);
        if (e.type === 'node-changed' && e.activity === 'upgrade' && poolOf.get(e.node) === 'general')
          generalInUpgrade.open();
      };
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.state).toBe('failed');
      expect(summary.reason).toMatch(/simulated bug upgrading compute-/);
      const flow = flowOf(h.events);
      expect(failedAt).toBeGreaterThan(0);
      // Nothing admitted once the failure was known; general's nodes then in flight finished.
      expect(flow.slice(failedAt).filter((f) => f.what === 'in')).toEqual([]);
      const generalIn = flow.filter((f) => f.what === 'in' && poolOf.get(f.node) === 'general');
      const generalOut = flow.filter((f) => f.what === 'out' && poolOf.get(f.node) === 'general');
      expect(generalIn.length).toBeGreaterThan(0);
      expect(generalOut.map((f) => f.node).sort()).toEqual(generalIn.map((f) => f.node).sort());
      expect(generalIn.length).toBeLessThan(3);

      const resumed = await resumeRun(h.deps, summary.runId, FAST);
      expect(resumed.reason).toBeUndefined();
      expect(resumed.state).toBe('succeeded');
      await expectUpgraded(sandbox, TARGET);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it('killed while both pools flow, the resumed run finishes both: nothing upgraded twice, nothing left cordoned, the cap held', async () => {
    const sandbox = await startCluster(TWO_POOLS_CLUSTER);
    const watch = new VersionWatch(sandbox);
    let poolOf = new Map<string, string>();
    let crash = false;
    const provider = new CountingProvider(new SandboxApiProvider(sandbox));
    // "kill -9": once both pools have a node past its cordon, this store write and every later one fail.
    const h = harness(sandbox, provider, {
      beforeWrite: (write) => {
        if (crash) throw new CrashError(write);
      },
    });
    try {
      await watch.start();
      const plan = await planFor(sandbox, TARGET, TOGETHER_POLICY);
      poolOf = poolsOf(plan);
      h.deps.onEvent = (e) => {
        h.events.push(e);
        const drained = h.events.filter(
          (x): x is NodeChanged => x.type === 'node-changed' && x.activity === 'drain',
        );
        if (new Set(drained.map((x) => poolOf.get(x.node))).size === 2) crash = true;
      };
      await expect(startRun(h.deps, plan, FAST)).rejects.toBeInstanceOf(CrashError);
      const before = flowOf(h.events);

      const store = h.openStore();
      const [run] = store.listRuns();
      const events: RunEvent[] = [];
      const summary = await resumeRun({ ...h.deps, store, onEvent: (e) => events.push(e) }, run!.id, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      const after = flowOf(events);
      // The resumed run restarted the nodes the killed one had admitted before any other, within the cap.
      const admittedBefore = before.filter((f) => f.what === 'in').map((f) => f.node);
      expect(admittedBefore.length).toBeGreaterThanOrEqual(2);
      expect(mostInFlight(after, poolOf).run).toBeLessThanOrEqual(2);
      await expectUpgraded(sandbox, TARGET);
      await new Promise((r) => setTimeout(r, 100));
      for (const n of await nodes(sandbox)) {
        if (!poolOf.has(n.name)) continue;
        expect({ node: n.name, changes: watch.changes.get(n.name) }).toEqual({ node: n.name, changes: 1 });
      }
    } finally {
      watch.stop();
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);
});

/** The run's id, from its first event. */
function summaryRunId(events: RunEvent[]): string {
  const started = events.find((e) => e.type === 'run-started');
  if (!started) throw new Error('no run-started event');
  return started.runId;
}

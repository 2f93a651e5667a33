/**
 * Maintenance windows and exclusions on a sandbox whose scaled clock starts just before a window opens
 * (Monday 2026-12-07). The engine keeps the sandbox's clock, as the CLI does.
 *
 * Note: a window must close while a node is in flight whatever the machine's speed, so the provider holds
 * the wave's first node until just after the window closed (HoldingProvider); the bound left is that the run
 * reaches that first node within the window's first 10 minutes of clock time (15 s of wall time at ×40, for
 * a preflight and one or two quick phases).
 */
import { describe, expect, it } from 'vitest';
import { type Clock, ScaledClock } from '../../src/core/clock.ts';
import {
  ExclusionRefusedError,
  type RunEvent,
  resumeRun,
  startRun,
  summarizeRun,
} from '../../src/engine/index.ts';
import type { UpgradeContext, UpgradeProvider } from '../../src/providers/index.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import {
  expectUpgraded,
  FAST,
  FOUR_WORKERS_CLUSTER,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  TIME_SCALE,
  testPolicy,
  WORKERS_CLUSTER,
} from './engine-harness.ts';

const at = (iso: string) => Date.parse(iso);
const MINUTE = 60_000;
/** Monday 2026-12-07, 21:30Z: the sandbox settles, then the windows below are laid out from its clock. */
const START = at('2026-12-07T21:30:00Z');
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
const local = (t: number) => `${new Date(t).toISOString().slice(0, 10)} ${hhmm(t)} UTC`;

/**
 * Two windows on that Monday (UTC): the first opens `lead` minutes after `now` (rounded up to a minute) and
 * lasts 10 minutes, the second opens 10 minutes after it closed.
 */
function windowsFrom(now: number, lead: number) {
  const opens = Math.ceil(now / MINUTE) * MINUTE + lead * MINUTE;
  const closes = opens + 10 * MINUTE;
  const reopens = closes + 10 * MINUTE;
  const windows = [
    { days: ['mon'], start: hhmm(opens), end: hhmm(closes) },
    { days: ['mon'], start: hhmm(reopens), end: '24:00' },
  ];
  const described = `mon ${hhmm(opens)}–${hhmm(closes)} UTC; mon ${hhmm(reopens)}–24:00 UTC`;
  return { windows, opens, closes, reopens, described };
}

/** Holds the i-th node it is asked to upgrade until `holds[i]` on the clock (the others not), then upgrades it. */
class HoldingProvider implements UpgradeProvider {
  readonly kind = 'holding';
  private calls = 0;
  constructor(
    private readonly inner: UpgradeProvider,
    private readonly clock: Clock,
    private readonly holds: number[],
  ) {}
  async upgradeNode(ctx: UpgradeContext): Promise<void> {
    const until = this.holds[this.calls++];
    if (until !== undefined) await this.clock.sleep(until - this.clock.now());
    return this.inner.upgradeNode(ctx);
  }
}

interface Setup {
  sandbox: RunningSandbox;
  clock: ScaledClock;
  cleanup(): Promise<void>;
}

async function sandboxAt(start: number, scenario = WORKERS_CLUSTER): Promise<Setup> {
  const clock = new ScaledClock(TIME_SCALE, start);
  const sandbox = await startSandbox({ scenario: parseScenario(scenario, 'windows.yaml'), clock });
  return { sandbox, clock, cleanup: () => sandbox.stop() };
}

/** The engine's deps on `clock`, a provider holding the first nodes (see HoldingProvider), and a store for `status`. */
function engineOn(setup: Setup, ...holds: number[]) {
  const h = harness(setup.sandbox, new SandboxApiProvider(setup.sandbox));
  const store = h.openStore({ clock: setup.clock });
  const status = h.openStore({ clock: setup.clock });
  const provider = new HoldingProvider(new SandboxApiProvider(setup.sandbox), setup.clock, holds);
  const deps = { ...h.deps, store, clock: setup.clock, provider };
  return { h, deps, status };
}

const timeOf = (events: RunEvent[], pick: (e: RunEvent) => boolean): number | undefined =>
  events.find(pick)?.time;
const iso = (t: number | undefined) => (t === undefined ? 'never' : new Date(t).toISOString());

describe('maintenance windows', () => {
  it('wait: the run starts when the window opens; one closing stops admissions, the node in flight finishes, the next node waits for the next window', async () => {
    const setup = await sandboxAt(START);
    // Note: the run must start before the first window opens: 5 minutes of clock, 7.5 s of wall time to
    // plan and reach the first phase.
    const w = windowsFrom(setup.clock.now(), 5);
    const { h, deps, status } = engineOn(setup, w.closes + 30_000);
    const statusWhileWaiting: Array<{ state: string; reason?: string }> = [];
    deps.onEvent = (e) => {
      h.events.push(e);
      if (e.type === 'window-wait') {
        const s = summarizeRun(status, e.runId);
        statusWhileWaiting.push({ state: s.state, reason: s.reason });
      }
    };
    try {
      const plan = await planFor(
        setup.sandbox,
        'v1.31.2',
        testPolicy({ canary: { nodes: 0 }, maintenanceWindows: w.windows }),
      );
      const summary = await startRun(deps, plan, FAST);
      expect(summary.state).toBe('succeeded');
      await expectUpgraded(setup.sandbox, 'v1.31.2');

      const events = h.events;
      const waits = events.filter((e) => e.type === 'window-wait');
      expect(waits.map((e) => iso(e.type === 'window-wait' ? e.untilMs : undefined))).toEqual([
        iso(w.opens),
        iso(w.reopens),
      ]);
      // Before the first window nothing started; the first phase started once it opened.
      expect(timeOf(events, (e) => e.type === 'phase-started')).toBeGreaterThanOrEqual(w.opens);

      const admitted = events.filter((e) => e.type === 'node-changed' && e.activity === 'admitted');
      expect(new Set(admitted.map((e) => (e.type === 'node-changed' ? e.node : ''))).size).toBe(3);
      const first = admitted[0]!.type === 'node-changed' ? admitted[0]!.node : '';
      expect(
        admitted[0]!.time < w.closes,
        `first node admitted at ${iso(admitted[0]!.time)}: the run did not reach it within the first window`,
      ).toBe(true);
      // The node in flight when the window closed finished: it was not stopped.
      const firstDone = timeOf(
        events,
        (e) => e.type === 'node-changed' && e.node === first && e.status === 'done',
      );
      expect(firstDone).toBeGreaterThan(w.closes);
      // The next one waited for the next window.
      expect(waits[1]!.time).toBeGreaterThanOrEqual(firstDone!);
      expect(admitted[1]!.time).toBeGreaterThanOrEqual(w.reopens);

      // `status` said so while the run waited: still running, and until when.
      const waiting = (opens: number) =>
        `waiting: outside the maintenance windows (${w.described}): waiting until the next opens ${local(opens)}`;
      expect(statusWhileWaiting).toEqual([
        { state: 'running', reason: waiting(w.opens) },
        { state: 'running', reason: waiting(w.reopens) },
      ]);
      const logs = status.logs(summary.runId).map((l) => l.message);
      expect(logs).toContain(`the maintenance window is open until ${local(w.closes)}: the run goes on`);
      expect(logs).toContain('the maintenance window is open until 2026-12-08 00:00 UTC: the run goes on');
      expect(summary.reason).toBeUndefined();
    } finally {
      h.cleanup();
      await setup.cleanup();
    }
  }, 120_000);

  it('wait, two nodes in flight: a slot freed after the window closed admits no node; the other node in flight finishes', async () => {
    const setup = await sandboxAt(START, FOUR_WORKERS_CLUSTER);
    const w = windowsFrom(setup.clock.now(), 1);
    // Both nodes admitted first are still upgrading when the window closes; one finishes before the other.
    const { h, deps, status } = engineOn(setup, w.closes + 30_000, w.closes + 10_000);
    try {
      const plan = await planFor(
        setup.sandbox,
        'v1.31.2',
        testPolicy({
          canary: { nodes: 0 },
          timings: { waveSoak: '0s' },
          defaults: { maxUnavailable: 2 },
          maintenanceWindows: w.windows,
        }),
      );
      const summary = await startRun(deps, plan, FAST);
      expect(summary.state).toBe('succeeded');
      await expectUpgraded(setup.sandbox, 'v1.31.2');

      const admitted = h.events.filter((e) => e.type === 'node-changed' && e.activity === 'admitted');
      expect(admitted).toHaveLength(4);
      const [first, second] = admitted.map((e) => (e.type === 'node-changed' ? e.node : ''));
      const doneAt = (node: string | undefined) =>
        timeOf(h.events, (e) => e.type === 'node-changed' && e.node === node && e.status === 'done');
      expect(
        admitted[1]!.time < w.closes,
        `second node admitted at ${iso(admitted[1]!.time)}: the run did not reach it within the first window`,
      ).toBe(true);
      expect(doneAt(first)).toBeGreaterThan(w.closes);
      expect(doneAt(second)).toBeGreaterThan(w.closes);
      expect(admitted[2]!.time).toBeGreaterThanOrEqual(w.reopens);
      expect(admitted[3]!.time).toBeGreaterThanOrEqual(w.reopens);
      const logs = status.logs(summary.runId).map((l) => l.message);
      expect(logs).toContain(
        `the maintenance window closed: no more nodes admitted until the next opens ${local(w.reopens)}; the 1 node(s) in flight finish`,
      );
    } finally {
      h.cleanup();
      await setup.cleanup();
    }
  }, 120_000);

  it('pause: a window closing mid-wave pauses the run once the node in flight finished; resume waits for a window', async () => {
    const setup = await sandboxAt(START);
    // The first window is open when the run starts.
    const w = windowsFrom(setup.clock.now(), -1);
    const { h, deps } = engineOn(setup, w.closes + 30_000);
    try {
      const plan = await planFor(
        setup.sandbox,
        'v1.31.2',
        testPolicy({ canary: { nodes: 0 }, maintenanceWindows: w.windows, onOutsideWindow: 'pause' }),
      );
      const atTarget = async () =>
        (await nodes(setup.sandbox)).filter((n) => n.version === 'v1.31.2').map((n) => n.name);
      const before = await atTarget();
      const paused = await startRun(deps, plan, FAST);
      expect(paused.state).toBe('paused');
      expect(paused.reason).toBe(
        `outside the maintenance windows (${w.described}): the next opens ${local(w.reopens)}`,
      );
      // The node in flight finished; no other was touched.
      expect(paused.nodes.upgraded).toHaveLength(1);
      expect((await nodes(setup.sandbox)).filter((n) => n.unschedulable)).toEqual([]);
      expect((await atTarget()).sort()).toEqual([...before, ...paused.nodes.upgraded].sort());

      // Resumed before the next window: it pauses again at once, touching nothing.
      const again = await resumeRun(deps, paused.runId, FAST);
      expect(again.state).toBe('paused');
      expect(again.nodes.upgraded).toEqual(paused.nodes.upgraded);

      await setup.clock.sleep(w.reopens - setup.clock.now());
      const done = await resumeRun(deps, paused.runId, FAST);
      expect(done.state).toBe('succeeded');
      await expectUpgraded(setup.sandbox, 'v1.31.2');
    } finally {
      h.cleanup();
      await setup.cleanup();
    }
  }, 120_000);
});

describe('exclusions', () => {
  it('a running run pauses when an exclusion begins, after the node in flight; resume is refused inside it', async () => {
    const setup = await sandboxAt(START);
    // Note: the run must reach its first node before the exclusion begins: 6 minutes of clock, 9 s of wall.
    const begins = Math.ceil(setup.clock.now() / MINUTE) * MINUTE + 6 * MINUTE;
    const { h, deps } = engineOn(setup, begins + 30_000);
    try {
      const plan = await planFor(
        setup.sandbox,
        'v1.31.2',
        testPolicy({
          canary: { nodes: 0 },
          exclusions: [{ start: `2026-12-07T${hhmm(begins)}Z`, end: '2026-12-08', reason: 'release night' }],
        }),
      );
      const paused = await startRun(deps, plan, FAST);
      expect(paused.state).toBe('paused');
      expect(paused.reason).toBe(
        `inside the policy's exclusion "release night" (from ${local(begins)} until 2026-12-09 00:00 UTC): resume after it ends`,
      );
      expect(paused.nodes.upgraded).toHaveLength(1);
      expect((await nodes(setup.sandbox)).filter((n) => n.unschedulable)).toEqual([]);

      const refused = await resumeRun(deps, paused.runId, FAST).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(ExclusionRefusedError);
      expect((refused as Error).message).toMatch(
        /^refusing to resume run .* inside the policy's exclusion "release night"/,
      );
      expect(summarizeRun(deps.store, paused.runId).state).toBe('paused');
    } finally {
      h.cleanup();
      await setup.cleanup();
    }
  }, 120_000);
});

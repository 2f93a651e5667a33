/**
 * Maintenance windows and exclusions, enforced (the rules are core/maintenance-window.ts): node work only
 * starts while a window is open, and never inside an exclusion.
 *
 * - `apply` (and `resume`) refuse to start inside an exclusion, before anything is written or touched.
 * - Before each phase and before each node a wave admits, outside every window the run waits for the next
 *   one (`onOutsideWindow: wait`, the default), saying until when in the log, the live view and `status`;
 *   or it pauses (`onOutsideWindow: pause`). Nodes in flight always finish: a window that closes stops
 *   admissions, not work under way.
 * - Inside an exclusion a running run pauses at the same points (a freeze is not waited out: someone
 *   decided nothing moves, and `resume` after it is a person's call).
 *
 * A rollback is not held by windows or exclusions: it returns nodes to where they were, which a freeze
 * must not leave half done.
 */
import {
  type ActiveExclusion,
  describeWindow,
  exclusionAt,
  type FailureClass,
  formatInZone,
  windowStateAt,
} from '../core/index.ts';
import type { Policy } from '../plan/index.ts';
import type { RunContext } from './run-context.ts';

/** `apply` or `resume` inside an exclusion: nothing was started. */
export class ExclusionRefusedError extends Error {
  readonly failureClass: FailureClass = 'permanent';
  constructor(
    readonly reason: string,
    /** Clock ms the exclusion ends. */
    readonly until: number,
    message: string,
  ) {
    super(message);
    this.name = 'ExclusionRefusedError';
  }
}

/** Throws ExclusionRefusedError when `now` is inside one of the policy's exclusions. */
export function refuseInsideExclusion(policy: Policy, now: number, what: string): void {
  const active = exclusionAt(policy.exclusions ?? [], now);
  if (!active) return;
  throw new ExclusionRefusedError(
    active.exclusion.reason,
    active.until,
    `${what} inside the policy's exclusion "${active.exclusion.reason}" (${describeExclusion(active)}); try again after it ends`,
  );
}

/**
 * Before a phase: returns once a window is open and no exclusion holds; throws StopSignal when the run
 * pauses instead (policy, exclusion, or a pause or abort requested while it waited).
 */
export async function waitForWindow(ctx: RunContext): Promise<void> {
  if (!(await windowAdmits(ctx, 0))) ctx.checkpoint('step');
}

/**
 * Before a wave admits a node: true when it may start now. With nodes in flight it never waits (false:
 * the flow waits for them, and asks again); with none, it waits for the next window, then true. False
 * also when the run must stop (the stop is requested on the context).
 */
export async function windowAdmits(ctx: RunContext, inFlight: number): Promise<boolean> {
  const { policy } = ctx.plan;
  if (policy.maintenanceWindows.length === 0 && (policy.exclusions ?? []).length === 0) return true;
  try {
    return await admitsNow(ctx, inFlight);
  } catch (err) {
    // The store failed (a crash): stop like any other failure, with the nodes in flight still awaited.
    ctx.fail(err);
    return false;
  }
}

async function admitsNow(ctx: RunContext, inFlight: number): Promise<boolean> {
  const { policy } = ctx.plan;
  for (;;) {
    if (ctx.stop) return false;
    const now = ctx.clock.now();
    const exclusion = exclusionAt(policy.exclusions ?? [], now);
    if (exclusion) {
      ctx.requestStop(
        'pause',
        `inside the policy's exclusion "${exclusion.exclusion.reason}" (${describeExclusion(exclusion)}): resume after it ends`,
      );
      return false;
    }
    const state = windowStateAt(policy.maintenanceWindows, now);
    if (state.open) {
      opened(ctx, state.closesAt, state.timeZone);
      return true;
    }
    const next = formatInZone(state.opensAt, state.timeZone);
    const windows = policy.maintenanceWindows.map(describeWindow).join('; ');
    if (policy.onOutsideWindow === 'pause') {
      ctx.requestStop('pause', `outside the maintenance windows (${windows}): the next opens ${next}`);
      return false;
    }
    if (inFlight > 0) {
      announce(
        ctx,
        state.opensAt,
        `the maintenance window closed: no more nodes admitted until the next opens ${next}; the ${inFlight} node(s) in flight finish`,
      );
      return false;
    }
    announce(
      ctx,
      state.opensAt,
      `outside the maintenance windows (${windows}): waiting until the next opens ${next}`,
    );
    await ctx.clock.sleep(Math.min(state.opensAt - now, ctx.options.controlPollMs));
  }
}

/** The wait each run announced last (its opening), so that a wait is said once, not at every poll. */
const announced = new WeakMap<RunContext, number>();

function announce(ctx: RunContext, opensAt: number, message: string): void {
  if (announced.get(ctx) === opensAt) return;
  announced.set(ctx, opensAt);
  // Note: the reason of a running run is what `status` shows as waiting; cleared when the window opens.
  ctx.store.setRunState(ctx.runId, 'running', { reason: `waiting: ${message}` });
  ctx.log('info', message);
  ctx.emit({ type: 'window-wait', untilMs: opensAt, message });
}

function opened(ctx: RunContext, closesAt: number, timeZone: string): void {
  if (!announced.has(ctx)) return;
  announced.delete(ctx);
  const until = Number.isFinite(closesAt) ? ` until ${formatInZone(closesAt, timeZone)}` : '';
  ctx.log('info', `the maintenance window is open${until}: the run goes on`);
  ctx.store.setRunState(ctx.runId, 'running', { reason: null });
}

function describeExclusion(active: ActiveExclusion): string {
  const tz = active.exclusion.timeZone ?? 'UTC';
  return `from ${formatInZone(active.from, tz)} until ${formatInZone(active.until, tz)}`;
}

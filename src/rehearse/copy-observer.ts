/**
 * What a rehearsal reads from its copy's own store rather than over HTTP, as the run goes: single-replica
 * downtimes, pods stranded while pools were in flight, budget violations. It runs where the copy runs: in
 * the rehearsal's thread, or in the copy's worker thread (`observe`, named to startInWorker as its observer).
 */
import type { Sandbox } from '../sandbox/sandbox.ts';
import { type Downtime, DowntimeWatch } from './downtime-watch.ts';
import { type PendingShortfall, PendingWatch } from './pending-watch.ts';
import { SharedJsonCell } from './shared-json-cell.ts';

export interface CopyObservations {
  downtimes: Downtime[];
  pending: PendingShortfall[];
  /** Disruption-budget violations the copy recorded. */
  violations: number;
}

export interface CopyObserver {
  /** Stops watching: what was seen since it started. */
  finish(): CopyObservations;
}

/** `poolsInFlight`: the pools with a node in flight now (asked when a pod is stranded). */
export function observeCopy(sandbox: Sandbox, poolsInFlight: () => readonly string[]): CopyObserver {
  const { store, clock } = sandbox.ctx;
  const downtime = new DowntimeWatch(store, clock);
  const pending = new PendingWatch(store, clock, poolsInFlight);
  return {
    finish: () => ({
      downtimes: downtime.finish(),
      pending: pending.finish(),
      violations: sandbox.ctx.violations.length,
    }),
  };
}

/** The worker's form (SandboxObserverModule): `data` is the buffer of a SharedJsonCell of the pools in flight. */
export function observe(sandbox: Sandbox, data: unknown): CopyObserver {
  const pools = new SharedJsonCell<string[]>(data as SharedArrayBuffer);
  return observeCopy(sandbox, () => pools.read());
}

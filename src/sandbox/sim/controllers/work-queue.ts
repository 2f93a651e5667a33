import type { Clock, Timer } from '../../../core/index.ts';

export interface WorkQueueOptions {
  /** How long after a reconcile threw it runs again. Default 1 s. */
  retryMs?: number;
  /** Reconciles per drain before yielding to the event loop. Default 100. */
  batchSize?: number;
  /** Told of every reconcile that threw (before its retry): controllers report it, see contain-errors.ts. */
  onError?: (key: string, err: unknown) => void;
}

/**
 * A controller's work queue: keys added while a drain is pending collapse into one reconcile each, and the
 * drain runs from a clock timer, never inside the store listener that noticed the change.
 * IMPORTANT: reconciling from inside a store listener would nest writes inside writes (and listeners inside
 * listeners); the timer breaks that chain. A reconcile that throws is retried after `retryMs`.
 * A drain runs at most `batchSize` reconciles, then yields to the event loop (a new zero-delay timer) before
 * the rest: a controller's first sync over thousands of objects must not keep the API server from answering.
 */
export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: Timer }>();
  private drainTimer: Timer | undefined;
  private stopped = false;

  private readonly retryMs: number;
  private readonly batchSize: number;
  private readonly onError: (key: string, err: unknown) => void;

  constructor(
    private readonly clock: Clock,
    private readonly reconcile: (key: string) => void,
    options: WorkQueueOptions = {},
  ) {
    this.retryMs = options.retryMs ?? 1_000;
    this.batchSize = options.batchSize ?? 100;
    this.onError = options.onError ?? (() => {});
  }

  add(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    this.drainTimer ??= this.clock.setTimer(0, () => this.drain());
  }

  /** Adds `key` after `ms`; of several delayed adds of one key, the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimer(ms, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { at, timer });
  }

  stop(): void {
    this.stopped = true;
    this.drainTimer?.cancel();
    this.drainTimer = undefined;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.pending.clear();
  }

  private drain(): void {
    this.drainTimer = undefined;
    let done = 0;
    for (const key of this.pending) {
      if (this.stopped) return;
      if (done++ >= this.batchSize) {
        this.drainTimer ??= this.clock.setTimer(0, () => this.drain());
        return;
      }
      // Note: removed before the reconcile, so a key it adds again runs again (in a later batch or drain).
      this.pending.delete(key);
      try {
        this.reconcile(key);
      } catch (err) {
        this.onError(key, err);
        this.addAfter(key, this.retryMs);
      }
    }
  }
}

/** "namespace/name" ↔ parts, for queue keys. */
export function queueKey(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

export function splitQueueKey(key: string): [namespace: string, name: string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

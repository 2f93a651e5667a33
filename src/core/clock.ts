/**
 * Time, injected. Nothing in the domain calls `Date.now()` or `setTimeout` directly: it is handed a Clock.
 * That is what lets the sandbox run thousands of nodes in virtual time and lets tests skip waiting.
 *
 * Three kinds:
 * - `RealClock`: wall time.
 * - `ScaledClock`: simulated time runs `scale` times faster than wall time (scale 60 = one minute a second).
 * - `VirtualClock`: time moves only when `advance()` is called; timers fire in order as it passes them.
 */
import { MinHeap } from './min-heap.ts';

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch, in this clock's time. */
  now(): number;
  /** Runs `fn` once after `ms` of this clock's time. */
  setTimer(ms: number, fn: () => void): Timer;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
  /** How many clock milliseconds pass per wall millisecond (Infinity for a virtual clock). */
  readonly scale: number;
}

export class RealClock implements Clock {
  readonly scale = 1;
  now(): number {
    return Date.now();
  }
  setTimer(ms: number, fn: () => void): Timer {
    const handle = setTimeout(fn, Math.max(0, ms));
    handle.unref?.();
    return { cancel: () => clearTimeout(handle) };
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  }
}

/**
 * Simulated time that starts at `start` and runs `scale` times faster than the wall clock.
 * Note: timers are wall-clock timeouts of `ms / scale`, so a scale of 1000 turns a 30 s grace period
 * into 30 ms of waiting.
 */
export class ScaledClock implements Clock {
  private readonly wallStart = Date.now();
  constructor(
    readonly scale: number,
    private readonly start: number = Date.now(),
  ) {
    if (!(scale > 0) || !Number.isFinite(scale))
      throw new RangeError(`time scale must be a positive number, got ${scale}`);
  }
  now(): number {
    return Math.floor(this.start + (Date.now() - this.wallStart) * this.scale);
  }
  setTimer(ms: number, fn: () => void): Timer {
    const handle = setTimeout(fn, Math.max(0, ms / this.scale));
    handle.unref?.();
    return { cancel: () => clearTimeout(handle) };
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms / this.scale)));
  }
}

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Time that moves only when told to. Timers due at the same instant fire in the order they were set. */
export class VirtualClock implements Clock {
  readonly scale = Number.POSITIVE_INFINITY;
  private current: number;
  private seq = 0;
  private readonly timers = new MinHeap<PendingTimer>(
    (a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq),
  );

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const timer: PendingTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }

  /** When the next live timer is due, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    this.dropCancelled();
    return this.timers.peek()?.at;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in order.
   * Note: between timers it yields to the event loop so that promise chains woken by one timer can set
   * the next ones before time moves on.
   */
  async advance(ms: number): Promise<void> {
    const until = this.current + Math.max(0, ms);
    for (;;) {
      await settle();
      const due = this.takeNextDue(until);
      if (!due) break;
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = until;
    await settle();
  }

  /**
   * Moves time to the next live timer and fires the timers due at that instant, in order, yielding to the
   * event loop between two of them as `advance` does; returns at once after the last one, without the
   * turns `advance` spends before the first and after the last. For a driver that lets the event loop run
   * between calls itself (sandbox/idle-time.ts): an idle copy fires some 17,000 timers per hour at 1,000
   * nodes, and those turns were most of what each cost.
   */
  async advanceToNextTimer(): Promise<void> {
    const at = this.nextTimerAt();
    if (at === undefined) return;
    for (;;) {
      const due = this.takeNextDue(at);
      if (!due) return;
      this.current = Math.max(this.current, due.at);
      due.fn();
      if (this.nextTimerAt() !== at) return;
      await settle();
    }
  }

  private takeNextDue(until: number): PendingTimer | undefined {
    this.dropCancelled();
    const next = this.timers.peek();
    if (!next || next.at > until) return undefined;
    return this.timers.pop();
  }

  private dropCancelled(): void {
    while (this.timers.peek()?.cancelled) this.timers.pop();
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Parses a clock description from the command line: "real", "virtual", or a scale such as "60". */
export function clockFromTimeScale(timeScale: number | undefined): Clock {
  if (timeScale === undefined || timeScale === 1) return new RealClock();
  return new ScaledClock(timeScale);
}

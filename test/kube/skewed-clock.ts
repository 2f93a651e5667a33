import type { Clock, Timer } from '../../src/core/clock.ts';

/**
 * Another machine's clock: it runs at `base`'s rate but reads `offsetMs` ahead (negative: behind), as two
 * operators' laptops do. `stop()` stands for its process hanging or dying: none of its timers fire again,
 * so a lease holder on it stops renewing without releasing.
 */
export class SkewedClock implements Clock {
  private stopped = false;
  constructor(
    private readonly base: Clock,
    private readonly offsetMs: number,
  ) {}
  get scale(): number {
    return this.base.scale;
  }
  now(): number {
    return this.base.now() + this.offsetMs;
  }
  setTimer(ms: number, fn: () => void): Timer {
    return this.base.setTimer(ms, () => {
      if (!this.stopped) fn();
    });
  }
  sleep(ms: number): Promise<void> {
    return this.base.sleep(ms);
  }
  stop(): void {
    this.stopped = true;
  }
}

/**
 * Writes noticed in a store listener, done in the next timer: a listener only plans, so that the other
 * listeners always see changes in commit order. One queue per fleet keeps the writes in the order noticed.
 */
import type { Timer } from '../../core/index.ts';
import type { SandboxContext } from '../context.ts';
import { contain } from './contain-errors.ts';

export class DeferredWrites {
  private readonly queue: Array<() => void> = [];
  private timer?: Timer;

  constructor(
    private readonly ctx: SandboxContext,
    private readonly actor: string,
  ) {}

  /** Runs `write` in the next timer, after those deferred before it; an error in one stops no other. */
  defer(write: () => void): void {
    this.queue.push(write);
    this.timer ??= this.ctx.clock.setTimer(0, () => {
      this.timer = undefined;
      for (const fn of this.queue.splice(0)) contain(this.ctx, this.actor, fn);
    });
  }

  /** Drops what is still queued (the fleet stops). */
  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.queue.length = 0;
  }
}

/**
 * VirtualClock.jumpTo: time moves to an instant without firing what falls due there, so that two clocks kept
 * on one time (src/sandbox/shared-time.ts) both read it before either fires a timer; never over a timer.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/index.ts';

describe('VirtualClock.jumpTo', () => {
  it('moves time to the instant; what falls due there fires on the next advance, in order', async () => {
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    clock.setTimer(1000, () => fired.push(`a at ${clock.now()}`));
    clock.setTimer(1000, () => fired.push(`b at ${clock.now()}`));
    clock.jumpTo(1000);
    expect(clock.now()).toBe(1000);
    expect(fired).toEqual([]);
    await clock.advance(0);
    expect(fired).toEqual(['a at 1000', 'b at 1000']);
  });

  it('refuses to jump over a timer, and never moves time back', () => {
    const clock = new VirtualClock(0);
    clock.setTimer(500, () => {});
    expect(() => clock.jumpTo(1000)).toThrow(/a timer is due at 500/);
    clock.jumpTo(500);
    clock.jumpTo(100);
    expect(clock.now()).toBe(500);
  });
});

import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';

describe('VirtualClock.advanceToNextTimer', () => {
  it('moves time to the next timer and fires every timer due then, in order, and none later', async () => {
    const clock = new VirtualClock(1_000);
    const fired: string[] = [];
    clock.setTimer(500, () => fired.push('later'));
    clock.setTimer(200, () => {
      fired.push('first');
      // Set by a timer for the instant it fires at: due now, so fired in the same call.
      clock.setTimer(0, () => fired.push('chained'));
    });
    clock.setTimer(200, () => fired.push('second'));
    await clock.advanceToNextTimer();
    expect(clock.now()).toBe(1_200);
    expect(fired).toEqual(['first', 'second', 'chained']);
    await clock.advanceToNextTimer();
    expect(clock.now()).toBe(1_500);
    expect(fired.at(-1)).toBe('later');
  });

  it('skips cancelled timers and leaves time alone when none is pending', async () => {
    const clock = new VirtualClock(0);
    clock.setTimer(100, () => {}).cancel();
    await clock.advanceToNextTimer();
    expect(clock.now()).toBe(0);
  });
});

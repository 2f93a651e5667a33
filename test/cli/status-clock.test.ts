/**
 * `status` tells how long a run has gone on from the run's own records, which are in the clock the run
 * kept (a sandbox's scaled time, here 2030), never by subtracting them from this machine's wall clock.
 */
import { describe, expect, it } from 'vitest';
import { statusOf } from '../../src/cli/commands/runs.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { RunStore } from '../../src/store/index.ts';

const SANDBOX_EPOCH = Date.UTC(2030, 0, 1);

describe('status of a stopped run kept on another clock', () => {
  it('measures its length between its own records', async () => {
    const clock = new VirtualClock(SANDBOX_EPOCH);
    const store = RunStore.open(':memory:', { clock });
    store.createRun({
      id: 'run-1',
      planJson: JSON.stringify({ id: 'plan-x', phases: [] }),
      planId: 'plan-x',
      planHash: 'abc',
      clusterFingerprint: 'fp',
      clusterServer: 'https://127.0.0.1:6443',
      source: 'v1.30.6',
      target: 'v1.31.2',
    });
    store.setRunState('run-1', 'running', { holder: 'me' });
    await clock.advance(90_000);
    store.setRunState('run-1', 'paused', { reason: 'interrupted' });

    const status = await statusOf(store, store.mustGetRun('run-1'), undefined);
    expect(status.state).toBe('paused');
    // Before: Date.now() (2026) minus a 2030 start, a negative length of about four years.
    expect(status.durationMs).toBe(90_000);
    store.close();
  });
});

/**
 * measuredTimings: per pool, the medians of succeeded node steps' drain, upgrade (per minor) and time to
 * Ready (and the fastest drain, upgrade and time to Ready), from the milestone times the engine writes on each node's row; rows that say nothing about the
 * cluster's speed (not done, already at the target, written before milestones were timed) are left out.
 */
import { describe, expect, it } from 'vitest';
import type { NodeRowDetail, StepStateRecord } from '../../src/store/index.ts';
import { measuredTimings } from '../../src/store/index.ts';

const plan = JSON.stringify({
  phases: [
    { steps: [{ id: 'canary-1', kind: 'canary', pool: 'compute', version: 'v1.31.0' }] },
    { steps: [{ id: 'wave-1', kind: 'node-wave', pool: 'general', version: 'v1.31.0' }] },
    { steps: [{ id: 'cp-1', kind: 'control-plane', version: 'v1.31.0' }] },
  ],
});

/** A done node row: started at 0, drained, upgraded and verified at the given clock seconds. */
function row(
  stepId: string,
  node: string,
  [drained, upgraded, verified]: number[],
  extra: Partial<StepStateRecord<NodeRowDetail>> = {},
): StepStateRecord<NodeRowDetail> {
  return {
    runId: 'r',
    stepId,
    node,
    status: 'done',
    attempt: 1,
    previousVersion: 'v1.30.0',
    startedAt: 0,
    updatedAt: 0,
    detail: { drainedAt: drained! * 1000, upgradedAt: upgraded! * 1000, verifiedAt: verified! * 1000 },
    ...extra,
  };
}

describe('measuredTimings', () => {
  it('is undefined without a measured node', () => {
    expect(measuredTimings([])).toBeUndefined();
    expect(
      measuredTimings([
        { run: { planJson: plan, mode: 'upgrade' }, rows: [row('cp-1', 'cp-1', [10, 20, 30])] },
      ]),
    ).toBeUndefined();
  });

  it('takes medians (and the fastest) per pool, across runs, from succeeded node steps only', () => {
    const measured = measuredTimings([
      {
        run: { planJson: plan, mode: 'upgrade' },
        rows: [
          row('wave-1', 'g-1', [60, 160, 170]),
          row('wave-1', 'g-2', [100, 195, 199]),
          row('wave-1', 'g-3', [999, 9999, 99999], { status: 'quarantined' }),
          row('wave-1', 'g-4', [1, 2, 3], { detail: { alreadyAtTarget: true } }),
          // Two minors behind: two provider calls, so its upgrade counts per minor.
          row('canary-1', 'c-1', [30, 230, 240], { previousVersion: 'v1.29.0' }),
        ],
      },
      { run: { planJson: plan, mode: 'upgrade' }, rows: [row('wave-1', 'g-1', [80, 180, 190])] },
      { run: { planJson: plan, mode: 'rollback' }, rows: [row('wave-1', 'g-1', [1, 2, 3])] },
    ]);
    expect(measured).toEqual({
      runs: 2,
      pools: {
        compute: {
          nodeDrainSeconds: 30,
          nodeUpgradeSeconds: 100,
          nodeReadySeconds: 10,
          fastestUpgradeSeconds: 100,
          fastestReadySeconds: 10,
          fastestDrainSeconds: 30,
          nodes: 1,
          runs: 1,
        },
        // The fastest: g-2's upgrade (95 s) and return to Ready (4 s), g-1's first drain (60 s), for the
        // plan's lower bound.
        general: {
          nodeDrainSeconds: 80,
          nodeUpgradeSeconds: 100,
          nodeReadySeconds: 10,
          fastestUpgradeSeconds: 95,
          fastestReadySeconds: 4,
          fastestDrainSeconds: 60,
          nodes: 3,
          runs: 2,
        },
      },
    });
  });

  it('leaves out rows written before milestones were timed', () => {
    const old = row('wave-1', 'g-1', [0, 0, 0], { detail: {} });
    expect(measuredTimings([{ run: { planJson: plan, mode: 'upgrade' }, rows: [old] }])).toBeUndefined();
  });
});

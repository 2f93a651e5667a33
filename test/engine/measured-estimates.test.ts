/**
 * Honest estimates: a run on a sandbox cluster leaves its nodes' milestone times in the state store, and a
 * later plan of the same cluster estimates its pools from them (source "measured") instead of the policy
 * defaults, while timings the policy file sets stay the policy's. Timing itself depends on the machine, so
 * the estimate-to-actual ratio is printed, not asserted.
 */
import { describe, expect, it } from 'vitest';
import { clusterFingerprint, parseVersion } from '../../src/core/index.ts';
import { startRun } from '../../src/engine/index.ts';
import { readSnapshot } from '../../src/kube/snapshot.ts';
import { planUpgrade, renderPlanTable, renderRunbook } from '../../src/plan/index.ts';
import { clusterHistory, measuredTimings } from '../../src/store/index.ts';
import {
  FAST,
  harness,
  SandboxApiProvider,
  startCluster,
  testPolicy,
  WORKERS_CLUSTER,
} from './engine-harness.ts';

describe('plan estimates from measured history', () => {
  it('replaces the default node timings with what a run on the same cluster measured', async () => {
    const sandbox = await startCluster(WORKERS_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      // Pod start-up is not measured (the store does not see pods): the policy states this cluster's (1 s to
      // start, 1 s to turn Ready), as a team that knows its workloads would.
      const policy = testPolicy({
        canary: { nodes: 0, soak: '0s' },
        timings: { waveSoak: '5s', podStartup: '2s' },
      });
      const before = await readSnapshot(sandbox.kubeConfig());
      const target = parseVersion('v1.31.2');
      const plan = planUpgrade(before, target, policy);
      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');

      const measured = measuredTimings(clusterHistory(h.deps.store, clusterFingerprint(before)));
      expect(measured).toMatchObject({ runs: 1, pools: { general: { nodes: 3, runs: 1 } } });
      // Another cluster's history is not this one's.
      expect(measuredTimings(clusterHistory(h.deps.store, 'another-cluster'))).toBeUndefined();

      // The same cluster planned again, with the history: every node timing of its pool is measured.
      const replanned = planUpgrade(before, target, policy, { measured, explicitTimings: [] });
      const general = replanned.estimate.timings?.find((t) => t.pool === 'general');
      expect(general).toMatchObject({
        nodeDrain: { source: 'measured', runs: 1, seconds: measured!.pools.general!.nodeDrainSeconds },
        nodeUpgrade: { source: 'measured', runs: 1, seconds: measured!.pools.general!.nodeUpgradeSeconds },
      });
      expect(replanned.id).not.toBe(plan.id);
      expect(renderPlanTable(replanned)).toContain('Timings: pool general: drain');
      expect(renderRunbook(replanned)).toContain('(measured in 1 earlier run)');

      // A timing the policy file writes is the policy's, measured or not.
      const own = planUpgrade(before, target, policy, { measured, explicitTimings: ['nodeUpgrade'] });
      expect(own.estimate.timings?.find((t) => t.pool === 'general')).toMatchObject({
        nodeDrain: { source: 'measured' },
        nodeUpgrade: { source: 'policy', seconds: 300 },
      });
      // Without history the plan is what it always was: same id, no timing record.
      const plain = planUpgrade(before, target, policy, { explicitTimings: [] });
      expect(plain.id).toBe(plan.id);
      expect(plain.estimate.timings).toBeUndefined();
      expect(renderPlanTable(plain)).toContain(
        'Timings: drain 3m (default), upgrade 5m (default), pod start-up 2s (policy)',
      );

      const actual = summary.nodePhase!.durationMs / 1000;
      // Note: printed, not asserted: the run's clock time depends on how busy the machine is.
      console.log(
        `node phase: actual ${actual.toFixed(0)} s; estimate with defaults ${plan.estimate.nodePhaseSeconds} s ` +
          `(×${(plan.estimate.nodePhaseSeconds / actual).toFixed(2)}), with measured timings ` +
          `${replanned.estimate.nodePhaseSeconds} s (×${(replanned.estimate.nodePhaseSeconds / actual).toFixed(2)})`,
      );
      expect(replanned.estimate.nodePhaseSeconds).toBeLessThan(plan.estimate.nodePhaseSeconds);
      expect(replanned.estimate.nodePhaseSeconds).toBeGreaterThanOrEqual(
        replanned.estimate.nodePhaseLowerBoundSeconds,
      );
      // The floor takes a node's cycle at its fastest: a policy stating a 5 min upgrade does not lift it above
      // what the run measured (the fastest upgrade and return to Ready), so the run is at or above it.
      expect(measured!.pools.general!.fastestUpgradeSeconds).toBeLessThanOrEqual(
        measured!.pools.general!.nodeUpgradeSeconds!,
      );
      expect(own.estimate.nodePhaseLowerBoundSeconds).toBeLessThan(plan.estimate.nodePhaseLowerBoundSeconds);
      expect(own.estimate.nodePhaseLowerBoundSeconds * 1000).toBeLessThanOrEqual(
        summary.nodePhase!.durationMs,
      );
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);
});

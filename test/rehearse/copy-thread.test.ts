/**
 * A rehearsal's copy in a worker thread (two cores) predicts what it predicts in the rehearsal's own thread:
 * the same node phase and everything the copy observes from its own store there (single-replica downtime,
 * pods stranded while their pool was in flight, the budgets that held drains back). The copy's clock and
 * the engine's are one across the threads (src/sandbox/shared-time.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseVersion } from '../../src/core/index.ts';
import { validatePolicy } from '../../src/plan/index.ts';
import { type RehearsalReport, rehearsalTimings, rehearse } from '../../src/rehearse/index.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

/**
 * Three 4 CPU workers with a 2.5 CPU pod of app each (a drained node's pod waits Pending for its node:
 * no other has 2.5 CPU in one piece), a budget on app, and a single-replica Deployment (down while its
 * node drains).
 */
function cluster() {
  const b = new ClusterBuilder('v1.31.2').controlPlane('cp-1');
  const workers = ['w-01', 'w-02', 'w-03'];
  for (const n of workers) b.node(n, { pool: 'workers', kubelet: 'v1.30.1', cpu: '4' });
  b.workload('shop', 'app', { replicas: 3, on: workers, cpu: '2500m', memory: '1Gi' });
  b.pdb('shop', 'app-pdb', 'app', { maxUnavailable: 1 });
  b.workload('shop', 'solo', { replicas: 1, on: ['w-02'], cpu: '100m' });
  return b.build();
}

/** What a report predicts, without the wall time it took. */
function prediction(report: RehearsalReport) {
  const { outcome, total, nodePhase, phases, blockingBudgets, singleReplicaDowntime, capacityShortfalls } =
    report;
  return { outcome, total, nodePhase, phases, blockingBudgets, singleReplicaDowntime, capacityShortfalls };
}

describe("a rehearsal's copy in a worker thread", () => {
  it('predicts what the copy in the same thread predicts', async () => {
    const result = validatePolicy(
      {
        defaults: { maxUnavailable: 3 },
        canary: { nodes: 0 },
        timings: { nodeDrain: '1s', nodeUpgrade: '30s', podStartup: '5s', waveSoak: '0s' },
        provider: { kind: 'command', command: 'true' },
      },
      'policy.yaml',
    );
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const policy = result.policy;
    const options = {
      snapshot: cluster(),
      target: parseVersion('v1.31.2'),
      policy,
      timings: rehearsalTimings(policy, ['nodeDrain', 'nodeUpgrade', 'podStartup']),
      runs: 2,
      seed: 1,
      now: Date.parse('2026-12-07T12:00:00Z'),
    };
    const here = prediction(await rehearse({ ...options, copyThread: 'main' }));
    const there = prediction(await rehearse({ ...options, copyThread: 'worker' }));
    expect(here.outcome).toEqual({ finishes: true, runsSucceeded: 2 });
    expect(here.singleReplicaDowntime.map((d) => d.workload)).toEqual(['Deployment shop/solo']);
    expect(here.capacityShortfalls.map((c) => c.cause).sort()).toEqual(['held', 'pending']);
    expect(there).toEqual(here);
  }, 120_000);
});

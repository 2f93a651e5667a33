/**
 * Capacity shortfalls in a rehearsal report, on a tight cluster: the plan holds the pool to fewer nodes in
 * flight than maxUnavailable because their pods would not fit (held: what they would lack, for how long),
 * and the pod of each node drained waits Pending, since no other node has room for it in one piece, until
 * its node is back (pending: its requests, for how long). The real planner and engine on the copy, on a
 * virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { parseVersion } from '../../src/core/index.ts';
import { validatePolicy } from '../../src/plan/index.ts';
import { rehearsalTimings, rehearse } from '../../src/rehearse/index.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

/**
 * Three 4 CPU workers, each with a 2.5 CPU pod of app: one out needs 2.5 CPU of the others' 3 free, which
 * the plan's capacity check (a sum, not a bin-packing) lets through, though neither has 2.5 CPU in one
 * piece; two out need 5 CPU of 1.5: the flow is held to one node at a time.
 */
function tightCluster() {
  const b = new ClusterBuilder('v1.31.2').controlPlane('cp-1');
  const workers = ['w-01', 'w-02', 'w-03'];
  for (const n of workers) b.node(n, { pool: 'workers', kubelet: 'v1.30.1', cpu: '4' });
  b.workload('shop', 'app', { replicas: 3, on: workers, cpu: '2500m', memory: '1Gi' });
  return b.build();
}

describe('capacity shortfalls in the rehearsal report', () => {
  it('names the pool, what is short and for how long: held by the plan, and pods Pending', async () => {
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
    const report = await rehearse({
      snapshot: tightCluster(),
      target: parseVersion('v1.31.2'),
      policy,
      timings: rehearsalTimings(policy, ['nodeDrain', 'nodeUpgrade', 'podStartup']),
      runs: 1,
      seed: 1,
      now: Date.parse('2026-12-07T12:00:00Z'),
    });
    expect(report.outcome).toEqual({ finishes: true, runsSucceeded: 1 });
    // No rehearsed run goes under the plan's lower bound (at the timings' fastest jitter).
    expect(report.nodePhase!.medianSeconds).toBeGreaterThanOrEqual(report.plan!.nodePhaseLowerBoundSeconds);
    // All three out: their 7.5 CPU and 3 GiB would have no room at all.
    expect(report.capacityShortfalls.find((c) => c.cause === 'held')).toMatchObject({
      pool: 'workers',
      inFlight: 1,
      allowed: 3,
      pods: 3,
      cpuMillis: 7500,
      memoryBytes: 3 * 2 ** 30,
    });
    const pending = report.capacityShortfalls.find((c) => c.cause === 'pending');
    expect(pending).toMatchObject({ pool: 'workers', pods: 1, cpuMillis: 2500, memoryBytes: 2 ** 30 });
    // Three nodes one after another, each pod Pending through its node's upgrade (30 s, jittered by at most
    // 20 %): the hold lasts the three cycles, the Pending pods at least the three upgrades.
    expect(pending!.medianSeconds).toBeGreaterThanOrEqual(3 * 24);
    const held = report.capacityShortfalls.find((c) => c.cause === 'held')!;
    expect(held.medianSeconds).toBeGreaterThanOrEqual(pending!.medianSeconds);
  }, 60_000);
});

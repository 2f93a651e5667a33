/**
 * An add-on rollout longer than the add-ons step's progress deadline, rehearsed to its end: kube-proxy on 30
 * nodes, replaced one node at a time, takes about 18 minutes of clock, a pod every 36 s or so. The run waits
 * for it as long as it moves (engine/addons.ts) and the report says how long the add-ons took. The real
 * planner and engine on the copy, on a virtual clock: what a team learns before a window that is too short.
 */
import { describe, expect, it } from 'vitest';
import { parseVersion } from '../../src/core/index.ts';
import { validatePolicy } from '../../src/plan/index.ts';
import { rehearsalTimings, rehearse } from '../../src/rehearse/index.ts';
import { ClusterBuilder } from '../fixtures/cluster-builder.ts';

/** Every node already at v1.31.2, kube-proxy behind at v1.30.6: the upgrade is the add-ons step alone. */
function clusterWithOldKubeProxy() {
  const b = new ClusterBuilder('v1.31.2').controlPlane('cp-1');
  const workers = Array.from({ length: 29 }, (_, i) => `w-${String(i + 1).padStart(2, '0')}`);
  for (const n of workers) b.node(n, { pool: 'workers' });
  b.daemonSet('kube-system', 'kube-proxy', ['cp-1', ...workers], 'registry.k8s.io/kube-proxy:v1.30.6');
  return b.build();
}

describe('an add-on rollout in a rehearsal', () => {
  it('is waited for to its end while it moves, however long, and reported', async () => {
    const result = validatePolicy(
      {
        canary: { nodes: 0 },
        timings: { nodeDrain: '5s', podStartup: '30s' },
        provider: { kind: 'command', command: 'true' },
      },
      'policy.yaml',
    );
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const policy = result.policy;
    const report = await rehearse({
      snapshot: clusterWithOldKubeProxy(),
      target: parseVersion('v1.31.2'),
      policy,
      timings: rehearsalTimings(policy, ['nodeDrain', 'podStartup']),
      runs: 1,
      seed: 1,
      now: Date.parse('2026-12-07T12:00:00Z'),
    });
    expect(report.outcome).toEqual({ finishes: true, runsSucceeded: 1 });
    const addons = report.phases.find((p) => p.kind === 'addons');
    // 30 pods, each stopped and started anew (5 s and 30 s, jittered by at most 20 %) before the next.
    expect(addons?.medianSeconds).toBeGreaterThan(30 * 28);
  }, 60_000);
});

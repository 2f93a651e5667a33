/**
 * A control-plane member as kubeadm's runbook has it: etcd's other members healthy before it goes down
 * (read from the etcd static pods' readiness, as a kubeadm cluster shows member health), cordoned and
 * drained before the provider (unless drain.controlPlane is false), uncordoned once verified.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type RunEvent, resumeRun, startRun } from '../../src/engine/index.ts';
import { patchFaults } from '../kube/sandbox-faults.ts';
import {
  CountingProvider,
  expectUpgraded,
  FAST,
  FAST_TIMING,
  harness,
  planFor,
  SandboxApiProvider,
  SMALL_CLUSTER,
  startCluster,
  testPolicy,
} from './engine-harness.ts';

/** Three control-plane members. */
const HA_CLUSTER = `
name: engine-ha
kubernetesVersion: v1.30.6
seed: 3
controlPlane: { nodes: 3 }
nodePools:
  - { name: general, count: 2, capacity: { cpu: "4", memory: 16Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 2, pdb: { maxUnavailable: 1 } }
${FAST_TIMING}`;

const activitiesOf = (events: RunEvent[], node: string) =>
  events.flatMap((e) => (e.type === 'node-changed' && e.node === node && e.activity ? [e.activity] : []));

describe('control-plane members', () => {
  it('wait for every other etcd member to be healthy: a sick member stops the run before any is touched', async () => {
    const sandbox = await startCluster(HA_CLUSTER);
    const provider = new CountingProvider(new SandboxApiProvider(sandbox));
    const h = harness(sandbox, provider);
    try {
      // cp-3's etcd member fails its health check; the next probe shows it on its static pod.
      await patchFaults(sandbox, { etcdUnhealthy: ['cp-3'] });
      const core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
      for (let i = 0; ; i++) {
        const pod = await core.readNamespacedPod({ namespace: 'kube-system', name: 'etcd-cp-3' });
        if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False')) break;
        if (i > 400) throw new Error('etcd-cp-3 never turned NotReady');
        await new Promise((r) => setTimeout(r, 25));
      }
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2'), FAST);
      expect(summary.state).toBe('failed');
      expect(summary.reason).toMatch(/etcd on cp-3 is not healthy .*upgrading cp-1 now would leave 1 of 3/);
      expect(summary.reason).toMatch(/quorum needs 2; cp-1 was not touched/);
      expect(provider.upgrades).toEqual([]);

      // Repaired: the resumed run goes member by member, each time with quorum.
      await patchFaults(sandbox, { etcdUnhealthy: [] });
      const resumed = await resumeRun(h.deps, summary.runId, FAST);
      expect(resumed.reason).toBeUndefined();
      expect(resumed.state).toBe('succeeded');
      expect(provider.upgrades.filter((u) => u.node.startsWith('cp-')).map((u) => u.node)).toEqual([
        'cp-1',
        'cp-2',
        'cp-3',
      ]);
      await expectUpgraded(sandbox, 'v1.31.2');
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 90_000);

  it.each([
    [
      true,
      ['cordon', 'cordoned', 'drain', 'drained', 'upgrade', 'upgraded', 'verify', 'verified', 'uncordon'],
    ],
    [false, ['upgrade', 'upgraded', 'verify', 'verified', 'uncordon']],
  ])(
    'with drain.controlPlane %s: %j',
    async (drain, activities) => {
      const sandbox = await startCluster(SMALL_CLUSTER);
      const h = harness(sandbox, new SandboxApiProvider(sandbox));
      try {
        const plan = await planFor(
          sandbox,
          'v1.31.2',
          testPolicy({ drain: { timeout: '2m', controlPlane: drain } }),
        );
        const summary = await startRun(h.deps, plan, FAST);
        expect(summary.reason).toBeUndefined();
        expect(summary.state).toBe('succeeded');
        expect(activitiesOf(h.events, 'cp-1').filter((a) => a !== 'start' && a !== 'done')).toEqual(
          activities,
        );
        await expectUpgraded(sandbox, 'v1.31.2');
      } finally {
        h.cleanup();
        await sandbox.stop();
      }
    },
    60_000,
  );
});

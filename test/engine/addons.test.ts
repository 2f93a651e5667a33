/**
 * The add-ons follow their own versions: after a run stopped past the control plane (here: the control
 * plane upgraded, nothing else), a new plan to the same version still moves kube-proxy and CoreDNS.
 */
import { AppsV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { startRun } from '../../src/engine/index.ts';
import { requestRaw } from '../../src/kube/client.ts';
import {
  expectUpgraded,
  FAST,
  harness,
  planFor,
  SandboxApiProvider,
  SMALL_CLUSTER,
  startCluster,
} from './engine-harness.ts';

describe('add-ons', () => {
  it('are planned and moved from their own versions when only the control plane moved', async () => {
    const sandbox = await startCluster(SMALL_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      const kc = sandbox.kubeConfig();
      const upgraded = await requestRaw(kc, 'POST', '/sandbox/v1/nodes/cp-1/upgrade?wait=true', {
        body: { version: 'v1.31.2' },
      });
      expect(upgraded.status).toBe(200);

      const plan = await planFor(sandbox, 'v1.31.2');
      expect(plan.hops).toEqual([]);
      const addons = plan.phases.find((p) => p.kind === 'addons');
      expect(addons?.steps[0]?.title).toBe('Upgrade kube-proxy and CoreDNS for v1.31.2');

      const summary = await startRun(h.deps, plan, FAST);
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      await expectUpgraded(sandbox, 'v1.31.2');
      const apps = kc.makeApiClient(AppsV1Api);
      const proxy = await apps.readNamespacedDaemonSet({ name: 'kube-proxy', namespace: 'kube-system' });
      const dns = await apps.readNamespacedDeployment({ name: 'coredns', namespace: 'kube-system' });
      expect(proxy.spec?.template.spec?.containers[0]?.image).toBe('registry.k8s.io/kube-proxy:v1.31.2');
      expect(dns.spec?.template.spec?.containers[0]?.image).toBe('registry.k8s.io/coredns/coredns:v1.11.3');
      expect(dns.status?.availableReplicas).toBe(dns.spec?.replicas);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);
});

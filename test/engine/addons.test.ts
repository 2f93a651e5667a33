/**
 * The add-ons follow their own versions: after a run stopped past the control plane (here: the control
 * plane upgraded, nothing else), a new plan to the same version still moves kube-proxy and CoreDNS. Their
 * rollout is waited for as long as it makes progress, however long it takes, and fails once it stops.
 */
import { AppsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { startRun } from '../../src/engine/index.ts';
import { requestRaw } from '../../src/kube/client.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import {
  expectUpgraded,
  FAST,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  SMALL_CLUSTER,
  startCluster,
} from './engine-harness.ts';

/** Every node of the sandbox at `version` through its own upgrade endpoint: a plan to it moves only add-ons. */
async function upgradeAllNodes(sandbox: RunningSandbox, version: string): Promise<void> {
  const kc = sandbox.kubeConfig();
  // Note: the control plane first: a kubelet may not run newer than its API server.
  const all = await nodes(sandbox);
  const controlPlaneFirst = [
    ...all.filter((n) => 'node-role.kubernetes.io/control-plane' in n.labels),
    ...all.filter((n) => !('node-role.kubernetes.io/control-plane' in n.labels)),
  ];
  for (const node of controlPlaneFirst) {
    const upgraded = await requestRaw(kc, 'POST', `/sandbox/v1/nodes/${node.name}/upgrade?wait=true`, {
      body: { version },
    });
    expect(upgraded.status, upgraded.body).toBe(200);
  }
}

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

  it('waits for a rollout that takes longer than the deadline while it keeps moving', async () => {
    // Note: pulling an image takes 10–30 s of clock here, so replacing the six nodes' kube-proxy pods one at
    // a time takes about two minutes: twice the deadline, with a pod replaced well within it each time.
    const sandbox = await startCluster(`${SMALL_CLUSTER}  imagePullSeconds: 20\n`);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      await upgradeAllNodes(sandbox, 'v1.31.2');
      // Note: every node at the target, only kube-proxy behind: the plan is applied, not refused as having
      // nothing to apply (as after a run that stopped before its add-ons step).
      const plan = await planFor(sandbox, 'v1.31.2');
      expect(plan.phases.map((p) => p.kind)).toEqual(['preflight', 'addons', 'validation']);

      const summary = await startRun(h.deps, plan, { ...FAST, addonsProgressDeadlineMs: 60_000 });
      expect(summary.reason).toBeUndefined();
      expect(summary.state).toBe('succeeded');
      const addons = summary.phases.find((p) => p.kind === 'addons');
      expect(addons?.durationMs).toBeGreaterThan(60_000);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);

  it('fails, naming the add-on and where it stands, once its rollout stops moving', async () => {
    const sandbox = await startCluster(SMALL_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    try {
      await upgradeAllNodes(sandbox, 'v1.31.2');
      // Note: with OnDelete a DaemonSet replaces no pod on its own: its new image never rolls out.
      const apps = sandbox.kubeConfig().makeApiClient(AppsV1Api);
      await apps.patchNamespacedDaemonSet(
        {
          name: 'kube-proxy',
          namespace: 'kube-system',
          body: { spec: { updateStrategy: { type: 'OnDelete', rollingUpdate: null } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      const plan = await planFor(sandbox, 'v1.31.2');

      const summary = await startRun(h.deps, plan, { ...FAST, addonsProgressDeadlineMs: 30_000 });
      expect(summary.state).toBe('failed');
      expect(summary.reason).toMatch(
        /add-ons not rolled out: no progress in 30s: DaemonSet kube-system\/kube-proxy \(0 of 6 updated, 6 available\)/,
      );
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 60_000);
});

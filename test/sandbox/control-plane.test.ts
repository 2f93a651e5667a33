import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { R } from '../../src/sandbox/api/resources.ts';
import { buildCluster } from '../../src/sandbox/scenario/build-cluster.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { ControlPlane, ETCD_PROBE_PERIOD_MS, versionInfoFor } from '../../src/sandbox/sim/control-plane.ts';
import { FakeRebooter } from './scenario-fake-rebooter.ts';
import { scenarioTestContext } from './scenario-test-context.ts';

const SCENARIO = parseScenario(
  `name: cp
kubernetesVersion: v1.30.4
controlPlane: { nodes: 3 }
nodePools: [{ name: general, count: 1, capacity: { cpu: "4", memory: 16Gi } }]
`,
  'cp.yaml',
);

function setup() {
  const clock = new VirtualClock();
  const ctx = scenarioTestContext(clock);
  const rebooter = new FakeRebooter(ctx);
  const { controlPlane } = buildCluster(ctx, SCENARIO, { rebooter });
  return { ctx, clock, rebooter, controlPlane };
}

describe('ControlPlane', () => {
  it('runs kubeadm-style mirror pods on each member', () => {
    const { ctx } = setup();
    const pod = ctx.store.mustGet(R.pods, 'kube-system', 'kube-apiserver-cp-2');
    expect(pod.metadata.labels).toEqual({ component: 'kube-apiserver', tier: 'control-plane' });
    expect(pod.metadata.annotations).toMatchObject({
      'kubernetes.io/config.mirror': expect.stringMatching(/^[0-9a-f]{32}$/),
      'kubernetes.io/config.source': 'file',
    });
    expect(pod.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Node', name: 'cp-2', controller: true }),
    ]);
    expect(pod.spec.nodeName).toBe('cp-2');
    expect(pod.spec.containers[0].image).toBe('registry.k8s.io/kube-apiserver:v1.30.4');
    expect(ctx.store.mustGet(R.pods, 'kube-system', 'etcd-cp-1').spec.containers[0].image).toBe(
      'registry.k8s.io/etcd:3.5.12-0',
    );
    expect(pod.status.phase).toBe('Running');
    expect(
      ctx.store.list(R.pods, 'kube-system', (p) => p.metadata.labels?.tier === 'control-plane'),
    ).toHaveLength(12);
  });

  it("shows an unhealthy etcd member as its mirror pod's readiness, at the next probe and through upgrades", async () => {
    const { ctx, clock, controlPlane } = setup();
    const ready = (node: string) =>
      ctx.store
        .mustGet(R.pods, 'kube-system', `etcd-${node}`)
        .status.conditions.find((c: { type: string }) => c.type === 'Ready').status;
    controlPlane.start();
    try {
      ctx.faults.etcdUnhealthy.add('cp-3');
      expect(ready('cp-3')).toBe('True');
      await clock.advance(ETCD_PROBE_PERIOD_MS);
      expect([ready('cp-1'), ready('cp-2'), ready('cp-3')]).toEqual(['True', 'True', 'False']);
      // An upgrade restarts etcd; the restarted member is still unhealthy.
      const upgrade = controlPlane.upgradeMember('cp-3', 'v1.31.2');
      await clock.advance(ctx.timing.controlPlaneUpgradeMs + ctx.timing.nodeUpgradeMs);
      await upgrade;
      expect(ready('cp-3')).toBe('False');
      ctx.faults.etcdUnhealthy.clear();
      await clock.advance(ETCD_PROBE_PERIOD_MS);
      expect(ready('cp-3')).toBe('True');
    } finally {
      controlPlane.stop();
    }
  });

  it('reports the lowest API server version while members disagree', async () => {
    const { ctx, clock, controlPlane, rebooter } = setup();
    expect(controlPlane.versionInfo().gitVersion).toBe('v1.30.4');
    const upgrade = controlPlane.upgradeMember('cp-1', 'v1.31.2');
    await clock.advance(1);
    // kubeadm pins a new etcd for 1.31, so etcd goes first; then the API server.
    expect(ctx.store.mustGet(R.pods, 'kube-system', 'etcd-cp-1').spec.containers[0].image).toBe(
      'registry.k8s.io/etcd:3.5.15-0',
    );
    await clock.advance(ctx.timing.controlPlaneUpgradeMs / 4);
    const restarting = ctx.store.mustGet(R.pods, 'kube-system', 'kube-apiserver-cp-1');
    expect(restarting.spec.containers[0].image).toBe('registry.k8s.io/kube-apiserver:v1.31.2');
    expect(restarting.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe(
      'False',
    );
    await clock.advance(ctx.timing.controlPlaneUpgradeMs + ctx.timing.nodeUpgradeMs + 1000);
    await upgrade;
    expect(rebooter.restarts).toEqual([{ name: 'cp-1', kubeletVersion: 'v1.31.2', comesBack: true }]);
    expect(ctx.store.mustGet(R.nodes, undefined, 'cp-1').status.nodeInfo.kubeletVersion).toBe('v1.31.2');
    const members = controlPlane.memberVersions();
    expect(members[0]!.components['kube-scheduler']).toEqual({ version: 'v1.31.2', ready: true });
    expect(members[0]!.components.etcd?.version).toBe('3.5.15-0');
    expect(controlPlane.versionInfo().gitVersion).toBe('v1.30.4');
    for (const node of ['cp-2', 'cp-3']) {
      const p = controlPlane.upgradeMember(node, 'v1.31.2');
      await clock.advance(ctx.timing.controlPlaneUpgradeMs + ctx.timing.nodeUpgradeMs + 1000);
      await p;
    }
    expect(controlPlane.versionInfo().gitVersion).toBe('v1.31.2');
  });

  it.each([
    [
      'v1.31.2',
      { major: '1', minor: '31', gitVersion: 'v1.31.2', compiler: 'gc', platform: 'linux/amd64' },
      false,
    ],
    ['v1.34.3', { minor: '34', emulationMinor: '34', minCompatibilityMinor: '33' }, true],
  ])('shapes /version for %s', (version, expected, hasEmulation) => {
    const info = versionInfoFor(version);
    expect(info).toMatchObject(expected);
    expect('emulationMajor' in info).toBe(hasEmulation);
    expect(info.gitCommit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('refuses to upgrade a node that is not a member', async () => {
    const { controlPlane } = setup();
    await expect(controlPlane.upgradeMember('general-1', 'v1.31.0')).rejects.toThrow(
      /not a control-plane member/,
    );
    expect(new ControlPlane(scenarioTestContext(), { fallbackVersion: 'v1.29.1' }).apiServerVersion()).toBe(
      'v1.29.1',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { R } from '../../src/sandbox/api/resources.ts';
import { buildCluster } from '../../src/sandbox/scenario/build-cluster.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { NodeUpgrader, UpgradeRefusedError } from '../../src/sandbox/sim/node-upgrade.ts';
import { FakeRebooter } from './scenario-fake-rebooter.ts';
import { scenarioTestContext } from './scenario-test-context.ts';

const SCENARIO = parseScenario(
  `name: up
kubernetesVersion: v1.31.4
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 3, version: v1.30.8, capacity: { cpu: "4", memory: 16Gi } }
  - { name: old, count: 1, version: v1.29.10, capacity: { cpu: "4", memory: 16Gi } }
`,
  'up.yaml',
);

function setup(options: { allowKubeletMinorSkip?: boolean } = {}) {
  const clock = new VirtualClock();
  const ctx = scenarioTestContext(clock);
  const rebooter = new FakeRebooter(ctx);
  const { controlPlane } = buildCluster(ctx, SCENARIO, { rebooter });
  const upgrader = new NodeUpgrader(ctx, { rebooter, controlPlane, ...options });
  const kubelet = (node: string) =>
    ctx.store.mustGet(R.nodes, undefined, node).status.nodeInfo.kubeletVersion;
  const finish = async <T>(p: Promise<T>) => {
    await clock.advance(ctx.timing.nodeUpgradeMs + ctx.timing.controlPlaneUpgradeMs + 1000);
    return p;
  };
  return { ctx, clock, rebooter, upgrader, kubelet, finish };
}

describe('NodeUpgrader', () => {
  it('reboots a worker into the new kubelet', async () => {
    const { upgrader, kubelet, finish } = setup();
    const result = await finish(upgrader.upgradeNode('general-1', 'v1.31.4'));
    expect(result).toMatchObject({ state: 'succeeded', fromVersion: 'v1.30.8', targetVersion: 'v1.31.4' });
    expect(kubelet('general-1')).toBe('v1.31.4');
  });

  it('fails N times when faults say so, then succeeds', async () => {
    const { ctx, upgrader, finish, rebooter } = setup();
    ctx.faults.upgradeFailures.set('general-2', 2);
    const first = await finish(upgrader.upgradeNode('general-2', 'v1.31.4'));
    expect(first.state).toBe('failed');
    expect(first.message).toContain('injected fault; 1 more failure(s) pending');
    expect((await finish(upgrader.upgradeNode('general-2', 'v1.31.4'))).state).toBe('failed');
    expect(rebooter.restarts).toHaveLength(0);
    expect((await finish(upgrader.upgradeNode('general-2', 'v1.31.4'))).state).toBe('succeeded');
  });

  it('applies "*" failures to any node', async () => {
    const { ctx, upgrader, finish } = setup();
    ctx.faults.upgradeFailures.set('*', 1);
    expect((await finish(upgrader.upgradeNode('general-3', 'v1.31.4'))).state).toBe('failed');
    expect((await finish(upgrader.upgradeNode('general-1', 'v1.31.4'))).state).toBe('succeeded');
  });

  it('reports a node that never comes back', async () => {
    const { ctx, upgrader, finish, rebooter } = setup();
    ctx.faults.nodesNeverReadyAfterUpgrade.add('general-1');
    const result = await finish(upgrader.upgradeNode('general-1', 'v1.31.4'));
    expect(result.state).toBe('failed');
    expect(result.message).toMatch(/did not come back/);
    expect(rebooter.restarts[0]).toMatchObject({ name: 'general-1', comesBack: false });
  });

  it.each([
    [
      'general-1',
      'v1.27.9',
      422,
      /downgrade node general-1 from v1.30.8 to v1.27.9: kubeadm does not downgrade; .*\(none: general-1 was not upgraded here\)/,
    ],
    [
      'general-1',
      'v1.30.7',
      422,
      /downgrade node general-1 from v1.30.8 to v1.30.7: kubeadm does not downgrade/,
    ],
    [
      'old-1',
      'v1.31.4',
      422,
      /upgrade node old-1 from v1.29.10 to v1.31.4 in place: kubeadm moves a kubelet one minor version at a time; upgrade it to v1.30 first \(a scenario may allow the jump with allowKubeletMinorSkip: true\)/,
    ],
    ['cp-1', 'v1.30.8', 422, /downgrade control-plane node cp-1 .* restore the etcd snapshot/],
    ['general-1', 'v1.32.0', 422, /kubelet must not be newer than the API server \(v1.31.4\)/],
    ['general-1', '1.31', 400, /expected a version like "v1.31.4"/],
    ['nope-1', 'v1.31.4', 404, /node nope-1 not found/],
    ['cp-1', 'v1.33.0', 422, /one minor version at a time/],
  ])('refuses %s → %s with %d', (node, version, code, message) => {
    const { upgrader } = setup();
    try {
      upgrader.upgradeNode(node, version);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(UpgradeRefusedError);
      expect((err as UpgradeRefusedError).code).toBe(code);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('rolls a worker back to the version it ran before its upgrade, and no further', async () => {
    const { upgrader, kubelet, finish } = setup();
    expect((await finish(upgrader.upgradeNode('general-1', 'v1.31.4'))).state).toBe('succeeded');
    expect(() => upgrader.upgradeNode('general-1', 'v1.30.7')).toThrow(
      /kubeadm does not downgrade; a node goes back only as a rollback, to the version it ran before its last upgrade \(v1.30.8\)/,
    );
    const back = await finish(upgrader.upgradeNode('general-1', 'v1.30.8'));
    expect(back).toMatchObject({ state: 'succeeded', fromVersion: 'v1.31.4', targetVersion: 'v1.30.8' });
    expect(kubelet('general-1')).toBe('v1.30.8');
    // The rollback undid its only upgrade here: going lower is still refused.
    expect(() => upgrader.upgradeNode('general-1', 'v1.29.10')).toThrow(/kubeadm does not downgrade/);
  });

  it('rolls back several one-minor upgrades one at a time, newest first', async () => {
    const { upgrader, kubelet, finish } = setup();
    expect((await finish(upgrader.upgradeNode('old-1', 'v1.30.8'))).state).toBe('succeeded');
    expect((await finish(upgrader.upgradeNode('old-1', 'v1.31.4'))).state).toBe('succeeded');
    expect(() => upgrader.upgradeNode('old-1', 'v1.29.10')).toThrow(/before its last upgrade \(v1.30.8\)/);
    expect((await finish(upgrader.upgradeNode('old-1', 'v1.30.8'))).state).toBe('succeeded');
    expect((await finish(upgrader.upgradeNode('old-1', 'v1.29.10'))).state).toBe('succeeded');
    expect(kubelet('old-1')).toBe('v1.29.10');
  });

  it('moves a kubelet two minors in one upgrade only when the scenario allows it', async () => {
    const { upgrader, kubelet, finish } = setup({ allowKubeletMinorSkip: true });
    expect((await finish(upgrader.upgradeNode('old-1', 'v1.31.4'))).state).toBe('succeeded');
    expect(kubelet('old-1')).toBe('v1.31.4');
  });

  it('joins an upgrade in flight and refuses a different version meanwhile', async () => {
    const { upgrader, finish, rebooter } = setup();
    const a = upgrader.upgradeNode('general-1', 'v1.31.4');
    const b = upgrader.upgradeNode('general-1', 'v1.31.4');
    expect(b).toBe(a);
    expect(upgrader.status('general-1')?.state).toBe('upgrading');
    expect(() => upgrader.upgradeNode('general-1', 'v1.31.3')).toThrow(/already being upgraded to v1.31.4/);
    await finish(a);
    expect(rebooter.restarts).toHaveLength(1);
    expect(upgrader.status('general-1')?.state).toBe('succeeded');
  });

  it('upgrades a control-plane member through its static pods', async () => {
    const { ctx, upgrader, finish } = setup();
    const result = await finish(upgrader.upgradeNode('cp-1', 'v1.32.1'));
    expect(result.state).toBe('succeeded');
    expect(ctx.store.mustGet(R.pods, 'kube-system', 'kube-apiserver-cp-1').spec.containers[0].image).toBe(
      'registry.k8s.io/kube-apiserver:v1.32.1',
    );
  });

  it('runs the Job way: an annotated Job pod pinned to the node upgrades it and exits 0 after the reboot', async () => {
    const { upgrader, rebooter, kubelet, clock, ctx } = setup();
    upgrader.registerJobBehaviour(rebooter);
    const pod = {
      metadata: {
        name: 'upgrade-general-2-abcde',
        namespace: 'kube-system',
        annotations: { 'upgrade.midflight.dev/target-version': 'v1.31.4' },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'upgrade-general-2', uid: 'u' }],
      },
      spec: { nodeName: 'general-2', containers: [] },
    };
    expect(
      rebooter.behaviours[0]!({ metadata: { name: 'other' }, spec: { nodeName: 'general-2' } }),
    ).toBeUndefined();
    const behaviour = rebooter.behaviours[0]!(pod);
    let exit: { exitCode: number; message?: string } | undefined;
    behaviour!.run(pod).then((r) => {
      exit = r;
    });
    await clock.advance(ctx.timing.nodeUpgradeMs / 2);
    expect(exit).toBeUndefined();
    await clock.advance(ctx.timing.nodeUpgradeMs);
    expect(exit).toEqual({ exitCode: 0, message: 'node general-2 upgraded from v1.30.8 to v1.31.4' });
    expect(kubelet('general-2')).toBe('v1.31.4');

    ctx.faults.upgradeFailures.set('general-3', 1);
    const failing = { ...pod, spec: { nodeName: 'general-3', containers: [] } };
    const failed = await rebooter.behaviours[0]!(failing)!.run(failing);
    expect(failed.exitCode).toBe(1);
    expect(failed.message).toMatch(/injected fault/);
  });
});

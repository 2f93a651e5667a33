import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeWaitTimeoutError, waitForControlPlaneMember, waitForNode } from '../../src/kube/node-wait.ts';
import { watchNodes } from '../../src/kube/node-watch.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { requestsServed } from './requests-served.ts';
import { adminPost, patchFaults } from './sandbox-faults.ts';

// demo: control plane v1.30.6; the compute pool one minor behind at v1.29.10.
describe('waiting for upgraded nodes', () => {
  let sandbox: RunningSandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ scenario: 'demo', timeScale: 50 });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('resolves once an upgraded worker is Ready at the new kubelet version', async () => {
    const clock = sandbox.box.ctx.clock;
    await adminPost(sandbox, '/sandbox/v1/nodes/compute-1/upgrade', { version: 'v1.30.6' });
    const started = clock.now();
    const node = await waitForNode(
      sandbox.kubeConfig(),
      'compute-1',
      { kubeletVersion: 'v1.30.6', timeoutMs: 300_000, pollIntervalMs: 1_000 },
      clock,
    );
    expect(node.status?.nodeInfo?.kubeletVersion).toBe('v1.30.6');
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    // It went through its reboot (timing.nodeUpgradeSeconds of NotReady) rather than answering at once.
    expect(clock.now() - started).toBeGreaterThanOrEqual(20_000);
  });

  it('with a node watch, resolves the moment the watch sees the node Ready at the version, reading no node', async () => {
    const clock = sandbox.box.ctx.clock;
    const kc = sandbox.kubeConfig();
    const watch = watchNodes(kc, clock);
    try {
      while (!watch.live) await clock.sleep(100);
      await adminPost(sandbox, '/sandbox/v1/nodes/compute-3/upgrade', { version: 'v1.30.6' });
      const reads = await requestsServed(sandbox, 'get', 'nodes');
      const started = clock.now();
      // Polling every 10 minutes would see the node Ready 10 minutes in at the earliest.
      const pollIntervalMs = 10 * 60_000;
      const node = await waitForNode(
        kc,
        'compute-3',
        { kubeletVersion: 'v1.30.6', timeoutMs: 20 * 60_000, pollIntervalMs, watch },
        clock,
      );
      expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(clock.now() - started).toBeLessThan(pollIntervalMs);
      expect(await requestsServed(sandbox, 'get', 'nodes')).toBe(reads);
    } finally {
      await watch.stop();
    }
  });

  it('times out naming the last state seen of a node that never comes back', async () => {
    await patchFaults(sandbox, { nodesNeverReady: ['compute-2'] });
    await adminPost(sandbox, '/sandbox/v1/nodes/compute-2/upgrade', { version: 'v1.30.6' });
    const error = await waitForNode(
      sandbox.kubeConfig(),
      'compute-2',
      { kubeletVersion: 'v1.30.6', timeoutMs: 120_000, pollIntervalMs: 2_000 },
      sandbox.box.ctx.clock,
    ).catch((e) => e);
    expect(error).toBeInstanceOf(NodeWaitTimeoutError);
    expect(error.message).toMatch(
      /^node compute-2 not Ready after 120s \(Ready=(Unknown|False)(: .+)?; kubelet v1\.\d+\.\d+\)$/,
    );
    expect(error.node).toBe('compute-2');
  });

  it('resolves once a control-plane member runs its components at the new version', async () => {
    const clock = sandbox.box.ctx.clock;
    const kc = sandbox.kubeConfig();
    await adminPost(sandbox, '/sandbox/v1/nodes/cp-1/upgrade', { version: 'v1.31.2' });
    await waitForControlPlaneMember(
      kc,
      'cp-1',
      'v1.31.2',
      { timeoutMs: 600_000, pollIntervalMs: 1_000 },
      clock,
    );
    const summary = await sandbox.admin<{
      controlPlane: {
        members: Array<{ node: string; components: Record<string, { version: string; ready: boolean }> }>;
      };
    }>('/sandbox/v1/summary');
    const member = summary.controlPlane.members.find((m) => m.node === 'cp-1');
    expect(member?.components['kube-apiserver']).toEqual({ version: 'v1.31.2', ready: true });
    expect(member?.components['kube-scheduler']).toEqual({ version: 'v1.31.2', ready: true });
  });

  it('times out naming the components not yet at the version', async () => {
    const error = await waitForControlPlaneMember(
      sandbox.kubeConfig(),
      'cp-2',
      'v1.31.2',
      { timeoutMs: 10_000, pollIntervalMs: 2_000 },
      sandbox.box.ctx.clock,
    ).catch((e) => e);
    expect(error).toBeInstanceOf(NodeWaitTimeoutError);
    expect(error.message).toBe(
      'control-plane member cp-2 not at v1.31.2 after 10s (kube-apiserver-cp-2 at v1.30.6; ' +
        'kube-controller-manager-cp-2 at v1.30.6; kube-scheduler-cp-2 at v1.30.6)',
    );
  });
});

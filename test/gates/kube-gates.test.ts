/**
 * kube gates against the sandbox cluster over HTTP: node readiness without the nodes in flight (M2), pods
 * not Ready outside them (M3's kube form), and the synthetic API probe (M1's kube form).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealClock, VirtualClock } from '../../src/core/index.ts';
import { createGateMonitor, type GateEvaluation, validateGates } from '../../src/gates/index.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { adminPost, patchFaults } from '../kube/sandbox-faults.ts';

const SCENARIO = `name: gates
kubernetesVersion: v1.30.6
prebindPods: true
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 3, version: v1.29.10, capacity: { cpu: "8", memory: 32Gi } }
workloads:
  - { name: web, namespace: shop, kind: Deployment, replicas: 3, requests: { cpu: 100m, memory: 64Mi } }
`;

let sandbox: RunningSandbox;
let stopped = false;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'midflight-gates-scenario-'));
  writeFileSync(join(dir, 'gates.yaml'), SCENARIO);
  sandbox = await startSandbox({ scenario: join(dir, 'gates.yaml') });
});
afterAll(async () => {
  if (!stopped) await sandbox?.stop();
});

/** One measurement of a kube gate (a fresh monitor each time: a tripped monitor stops measuring). */
async function measure(query: string, inFlight: string[] = []): Promise<GateEvaluation> {
  const { gates } = validateGates([{ name: query, provider: 'kube', query, success: 'result >= 0' }]);
  const evaluations: GateEvaluation[] = [];
  const monitor = createGateMonitor(gates, {
    clock: new RealClock(),
    kc: sandbox.kubeConfig(),
    runId: 'run-1',
    nodesInFlight: () => inFlight,
    onEvaluation: (e) => evaluations.push(e),
  });
  await monitor.check();
  return evaluations[0]!;
}

/** Polls (wall time, generous bound for a shared machine) until `accept` holds. */
async function eventually<T>(read: () => Promise<T>, accept: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(value)} after 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('kube gates', () => {
  it('probes the API server itself (M1)', async () => {
    expect(await measure('api-availability')).toMatchObject({ value: 1, verdict: 'success' });
  });

  it('counts pods not Ready outside the nodes in flight (M3)', async () => {
    const steady = await measure('unplanned-disruption');
    expect(steady).toMatchObject({ value: 0, verdict: 'success' });
    await patchFaults(sandbox, { etcdUnhealthy: ['cp-1'] });
    try {
      const core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
      await eventually(
        () => core.readNamespacedPod({ namespace: 'kube-system', name: 'etcd-cp-1' }),
        (pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False') ?? false,
      );
      const pods = (await core.listPodForAllNamespaces()).items.filter(
        (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
      );
      const disrupted = await measure('unplanned-disruption');
      expect(disrupted.value).toBeCloseTo(1 / pods.length, 9);
      // On a node in flight, a pod not Ready is the run's own doing.
      expect(await measure('unplanned-disruption', ['cp-1'])).toMatchObject({ value: 0 });
    } finally {
      await patchFaults(sandbox, { etcdUnhealthy: [] });
    }
  });

  it('measures node readiness without the nodes in flight (M2)', async () => {
    expect(await measure('node-readiness')).toMatchObject({ value: 1, verdict: 'success' });
    await patchFaults(sandbox, { nodesNeverReady: ['general-2'] });
    await adminPost(sandbox, '/sandbox/v1/nodes/general-2/upgrade', { version: 'v1.30.6' });
    const core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
    await eventually(
      () => core.readNode({ name: 'general-2' }),
      (node) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status !== 'True') ?? false,
    );
    expect(await measure('node-readiness')).toMatchObject({ value: 0.75 });
    expect(await measure('node-readiness', ['general-2'])).toMatchObject({ value: 1, verdict: 'success' });
    // Nothing left to measure is not a pass.
    expect(await measure('node-readiness', ['cp-1', 'general-1', 'general-2', 'general-3'])).toMatchObject({
      verdict: 'inconclusive',
      error: 'no node outside the ones in flight',
    });
  });

  it('counts an API server it cannot reach as a failed probe, over the last minute', async () => {
    const { gates } = validateGates([{ template: 'M1', interval: '30s', timeout: '2s' }]);
    const evaluations: GateEvaluation[] = [];
    const clock = new VirtualClock();
    const monitor = createGateMonitor(gates, {
      clock,
      kc: sandbox.kubeConfig(),
      runId: 'run-1',
      onEvaluation: (e) => evaluations.push(e),
    });
    expect(await monitor.check()).toEqual({ action: 'continue' });
    await sandbox.stop();
    stopped = true;
    await clock.advance(30_000);
    expect(await monitor.check()).toMatchObject({ action: 'pause', gate: 'M1' });
    // One probe of the two in the last minute answered.
    expect(evaluations.map((e) => e.value)).toEqual([1, 0.5]);
  });
});

/**
 * Node heartbeat Leases as a client sees them over the API, on a virtual clock: renewed every heartbeat
 * (10 s) while the kubelet runs, whether or not anyone watches (the sandbox writes renewals nobody watches
 * only when someone looks: ObjectStore.beforeAccess), and no more once the kubelet is down.
 */
import { CoordinationV1Api, KubeConfig, type V1Lease, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessSandbox, startInProcess } from '../../../src/sandbox/in-process.ts';
import { scenarioFromYaml } from './integration-helpers.ts';

const SCENARIO = scenarioFromYaml(`
name: leases
kubernetesVersion: v1.31.4
prebindPods: true
controlPlane: { nodes: 1 }
nodePools: [{ name: general, count: 3, version: v1.30.6, capacity: { cpu: "8", memory: 32Gi } }]
timing: { nodeUpgradeSeconds: 30 }
faults: { nodesNeverReady: [general-2] }
`);
const NAMESPACE = 'kube-node-lease';
const HEARTBEAT_MS = 10_000;

let running: InProcessSandbox;
let kc: KubeConfig;
let leases: CoordinationV1Api;

beforeAll(async () => {
  running = await startInProcess(SCENARIO, { tls: false });
  kc = new KubeConfig();
  kc.loadFromString(running.kubeconfig);
  leases = kc.makeApiClient(CoordinationV1Api);
});
afterAll(() => running?.stop());

const renewedAt = (lease: V1Lease) => new Date(lease.spec?.renewTime ?? 0).getTime();

async function upgradeNode(node: string): Promise<void> {
  const server = kc.getCurrentCluster()!.server;
  const res = await fetch(`${server}/sandbox/v1/nodes/${node}/upgrade`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${kc.getCurrentUser()!.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ version: 'v1.31.4' }),
  });
  expect(res.status).toBeLessThan(300);
}

describe('node heartbeat Leases on an idle cluster', () => {
  it('shows a watcher every renewal, one per node per heartbeat', async () => {
    const renewals = new Map<string, number[]>();
    const watch = await new Watch(kc).watch(
      `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases`,
      {
        resourceVersion: (await leases.listNamespacedLease({ namespace: NAMESPACE })).metadata
          ?.resourceVersion,
      },
      (type, lease: V1Lease) => {
        if (type !== 'MODIFIED') return;
        const name = lease.metadata?.name ?? '';
        renewals.set(name, [...(renewals.get(name) ?? []), renewedAt(lease)]);
      },
      () => {},
    );
    try {
      await running.clock.sleep(6 * HEARTBEAT_MS);
    } finally {
      watch.abort();
    }
    expect([...renewals.keys()].sort()).toEqual(['cp-1', 'general-1', 'general-2', 'general-3']);
    for (const times of renewals.values()) {
      expect(times.length).toBeGreaterThanOrEqual(5);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(HEARTBEAT_MS);
    }
  });

  it('shows a reader the latest heartbeat after an hour nobody watched, in a list no older than its items', async () => {
    await running.clock.sleep(60 * 60_000);
    const list = await leases.listNamespacedLease({ namespace: NAMESPACE });
    const now = running.clock.now();
    for (const lease of list.items) {
      expect(now - renewedAt(lease)).toBeGreaterThanOrEqual(0);
      expect(now - renewedAt(lease)).toBeLessThan(HEARTBEAT_MS);
      expect(Number(lease.metadata?.resourceVersion)).toBeLessThanOrEqual(
        Number(list.metadata?.resourceVersion),
      );
    }
    const one = await leases.readNamespacedLease({ namespace: NAMESPACE, name: 'general-3' });
    expect(now - renewedAt(one)).toBeLessThan(HEARTBEAT_MS);
  });

  it("stops renewing a down kubelet's Lease at its last heartbeat, and renews again once it is back", async () => {
    // Nobody reads a Lease between the last renewals and the kubelets going down.
    await running.clock.sleep(HEARTBEAT_MS * 3.5);
    const downAt = running.clock.now();
    await upgradeNode('general-1'); // back after 30 s
    await upgradeNode('general-2'); // never back
    await running.clock.sleep(60 * 60_000);
    const now = running.clock.now();
    const down = await leases.readNamespacedLease({ namespace: NAMESPACE, name: 'general-2' });
    expect(renewedAt(down)).toBeLessThanOrEqual(downAt);
    expect(downAt - renewedAt(down)).toBeLessThan(HEARTBEAT_MS);
    const back = await leases.readNamespacedLease({ namespace: NAMESPACE, name: 'general-1' });
    expect(now - renewedAt(back)).toBeLessThan(HEARTBEAT_MS);
  });
});

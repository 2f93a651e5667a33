import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSandbox, startSandbox } from '../../e2e/sandbox-harness.ts';
import { eventually, scenarioFromYaml } from './integration-helpers.ts';

// One roomy node and two small ones: least-allocated scoring alone sends every new pod to the roomy node,
// which is how both CoreDNS replicas used to land on one node. Nodes get zones round-robin (docs/scenarios.md).
const SPREAD = scenarioFromYaml(`
name: spread
kubernetesVersion: v1.30.6
controlPlane: { nodes: 1 }
nodePools:
  - { name: big, count: 1, capacity: { cpu: "64", memory: 256Gi } }
  - { name: small, count: 2, capacity: { cpu: "8", memory: 32Gi } }
timing: { podStartSeconds: 1, podReadySeconds: 1, imagePullSeconds: 1 }
`);

let sandbox: RunningSandbox;
let core: CoreV1Api;
let apps: AppsV1Api;
let zoneOf: Map<string, string>;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario: SPREAD, timeScale: 20 });
  core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
  apps = sandbox.kubeConfig().makeApiClient(AppsV1Api);
  const nodes = (await core.listNode()).items;
  zoneOf = new Map(
    nodes.map((n) => [n.metadata!.name!, n.metadata!.labels!['topology.kubernetes.io/zone']!]),
  );
});
afterAll(() => sandbox?.stop());

async function podsOf(namespace: string, app: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
}

function deployment(name: string, replicas: number, spec: Record<string, unknown>) {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'main', image: 'registry.k8s.io/e2e-test-images/agnhost:2.47' }],
          ...spec,
        },
      },
    },
  };
}

async function boundNodes(app: string, count: number): Promise<string[]> {
  return eventually(async () => {
    const nodes = (await podsOf('default', app)).map((p) => p.spec?.nodeName).filter(Boolean) as string[];
    return nodes.length === count && nodes.sort();
  }, `${count} pods of ${app} bound`);
}

describe('the default scheduler spreads pods', () => {
  it('puts the two CoreDNS replicas on two nodes (their preferred anti-affinity)', async () => {
    const coredns = (
      await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' })
    ).items;
    expect(coredns).toHaveLength(2);
    expect(new Set(coredns.map((p) => p.spec?.nodeName)).size).toBe(2);
  });

  it('spreads the replicas of a Deployment over nodes by default (topology spread by hostname and zone)', async () => {
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('plain', 3, {}) });
    const nodes = await boundNodes('plain', 3);
    expect(new Set(nodes).size).toBe(3);
  });

  it('honours a DoNotSchedule zone spread constraint', async () => {
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment('zonal', 6, {
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: 'topology.kubernetes.io/zone',
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: { app: 'zonal' } },
          },
        ],
      }),
    });
    const nodes = await boundNodes('zonal', 6);
    const perZone = new Map<string, number>();
    for (const node of nodes) perZone.set(zoneOf.get(node)!, (perZone.get(zoneOf.get(node)!) ?? 0) + 1);
    expect([...perZone.values()]).toEqual([2, 2, 2]);
  });

  it('keeps a pod with required anti-affinity Pending when every node has one, with the real message', async () => {
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment('alone', 4, {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { app: 'alone' } }, topologyKey: 'kubernetes.io/hostname' },
            ],
          },
        },
      }),
    });
    const pending = await eventually(async () => {
      const pods = await podsOf('default', 'alone');
      const bound = pods.filter((p) => p.spec?.nodeName);
      const waiting = pods.filter((p) => !p.spec?.nodeName);
      return (
        pods.length === 4 && bound.length === 3 && waiting.length === 1 && { bound, waiting: waiting[0]! }
      );
    }, 'three pods bound and one pending');
    expect(new Set(pending.bound.map((p) => p.spec?.nodeName)).size).toBe(3);
    const events = await eventually(async () => {
      const list = await core.listNamespacedEvent({
        namespace: 'default',
        fieldSelector: `involvedObject.name=${pending.waiting.metadata!.name},reason=FailedScheduling`,
      });
      return list.items.length > 0 && list.items;
    }, 'the FailedScheduling Event');
    expect(events[0]).toMatchObject({ type: 'Warning', source: { component: 'default-scheduler' } });
    expect(events[0]!.message).toBe(
      "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 node(s) didn't match pod anti-affinity rules. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.",
    );
  });
});

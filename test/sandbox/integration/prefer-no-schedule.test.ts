/**
 * The sandbox's scheduler scores PreferNoSchedule taints as kube-scheduler's TaintToleration plugin does: a
 * pod goes to a feasible node without such a taint (unless it tolerates them), even when the tainted nodes
 * have more room or fewer of its replicas; the taint never makes a pod Pending, and a hard constraint wins.
 * All through the API: nodes tainted and cordoned by patches, pods created and read back.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Toleration } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSandbox, startSandbox } from '../../e2e/sandbox-harness.ts';
import { eventually, scenarioFromYaml } from './integration-helpers.ts';

// Three workers; big-1 and big-2 have eight times small-1's room, so least-allocated scoring alone sends
// every new pod to them.
const NODES = scenarioFromYaml(`
name: prefer-no-schedule
kubernetesVersion: v1.31.2
controlPlane: { nodes: 1 }
nodePools:
  - { name: small, count: 1, capacity: { cpu: "2", memory: 8Gi } }
  - { name: big, count: 2, capacity: { cpu: "16", memory: 64Gi } }
timing: { podStartSeconds: 1, podReadySeconds: 1, imagePullSeconds: 1 }
`);

const PENDING = { key: 'upgrade.example/pending', value: 'run-1', effect: 'PreferNoSchedule' };

let sandbox: RunningSandbox;
let core: CoreV1Api;
let created = 0;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario: NODES, timeScale: 20 });
  core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
});
afterAll(() => sandbox?.stop());
afterEach(async () => {
  for (const node of ['small-1', 'big-1', 'big-2']) await setNode(node, { taints: [], unschedulable: false });
});

async function setNode(name: string, spec: { taints: object[]; unschedulable: boolean }): Promise<void> {
  await core.patchNode(
    {
      name,
      body: {
        spec: {
          taints: spec.taints.length > 0 ? spec.taints : null,
          unschedulable: spec.unschedulable || null,
        },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Creates `count` pods alike and returns the nodes they were bound to. */
async function placePods(
  count: number,
  extra: { tolerations?: V1Toleration[]; nodeSelector?: Record<string, string> } = {},
): Promise<string[]> {
  const app = `p${++created}`;
  for (let i = 0; i < count; i++)
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: `${app}-${i}`, labels: { app } },
        spec: {
          containers: [
            {
              name: 'main',
              image: 'registry.k8s.io/pause:3.9',
              resources: { requests: { cpu: '100m', memory: '64Mi' } },
            },
          ],
          ...extra,
        },
      },
    });
  return eventually(async () => {
    const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: `app=${app}` })).items;
    const nodes = pods.map((p) => p.spec?.nodeName).filter(Boolean) as string[];
    return nodes.length === count && nodes.sort();
  }, `${count} pods of ${app} bound`);
}

describe('PreferNoSchedule taints steer the scheduler', () => {
  it('sends new pods to the one untainted node though the tainted ones have more room', async () => {
    await setNode('big-1', { taints: [PENDING], unschedulable: false });
    await setNode('big-2', { taints: [PENDING], unschedulable: false });
    expect(await placePods(3)).toEqual(['small-1', 'small-1', 'small-1']);
  });

  it('prefers the node with fewer such taints (scores reversed against the most taints)', async () => {
    const other = { key: 'other.example/drain-soon', effect: 'PreferNoSchedule' };
    await setNode('small-1', { taints: [PENDING, other], unschedulable: false });
    await setNode('big-1', { taints: [PENDING, other], unschedulable: false });
    await setNode('big-2', { taints: [PENDING], unschedulable: false });
    expect(await placePods(2)).toEqual(['big-2', 'big-2']);
  });

  it('ignores the taints a pod tolerates: least-allocated scoring decides again', async () => {
    await setNode('big-1', { taints: [PENDING], unschedulable: false });
    await setNode('big-2', { taints: [PENDING], unschedulable: false });
    const tolerations = [{ key: PENDING.key, operator: 'Exists', effect: 'PreferNoSchedule' }];
    const nodes = await placePods(2, { tolerations });
    expect(nodes.every((n) => n.startsWith('big-'))).toBe(true);
  });

  it('still places pods on tainted nodes when no untainted node is feasible (never Pending)', async () => {
    await setNode('small-1', { taints: [], unschedulable: true });
    await setNode('big-1', { taints: [PENDING], unschedulable: false });
    await setNode('big-2', { taints: [PENDING], unschedulable: false });
    const nodes = await placePods(2);
    expect(nodes.every((n) => n.startsWith('big-'))).toBe(true);
  });

  it('lets a hard constraint win: a node selector puts the pod on the tainted node', async () => {
    await setNode('big-1', { taints: [PENDING], unschedulable: false });
    await setNode('big-2', { taints: [PENDING], unschedulable: false });
    expect(await placePods(1, { nodeSelector: { 'kubernetes.io/hostname': 'big-2' } })).toEqual(['big-2']);
  });
});

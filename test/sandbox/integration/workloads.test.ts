import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/core/clock.ts';
import { Sandbox } from '../../../src/sandbox/sandbox.ts';
import { type RunningSandbox, startSandbox } from '../../e2e/sandbox-harness.ts';
import { eventually, isPodReady, scenarioFromYaml } from './integration-helpers.ts';

const WORKLOADS = scenarioFromYaml(`
name: workloads
kubernetesVersion: v1.31.2
prebindPods: true
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 3, capacity: { cpu: "8", memory: 32Gi } }
timing: { podStartSeconds: 1, podReadySeconds: 1, podStopSeconds: 1, nodeMonitorGraceSeconds: 600 }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 3 }
  - { name: agent, namespace: app, kind: DaemonSet }
  - { name: db, namespace: app, kind: StatefulSet, replicas: 2 }
`);

let sandbox: RunningSandbox;
let core: CoreV1Api;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario: WORKLOADS, timeScale: 20 });
  core = sandbox.kubeConfig().makeApiClient(CoreV1Api);
});
afterAll(() => sandbox?.stop());

async function podsOf(app: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: 'app', labelSelector: `app=${app}` })).items;
}

async function readyPodsOf(app: string, count: number): Promise<V1Pod[] | undefined> {
  const pods = await podsOf(app);
  return pods.length === count && pods.every(isPodReady) ? pods : undefined;
}

describe('controllers over HTTP', () => {
  it('leaves prebound workloads alone at start: no rollout, the same pods', async () => {
    const before = (await core.listNamespacedPod({ namespace: 'app' })).items.map((p) => p.metadata!.uid);
    // 20 s of cluster time: long enough for a rollout to start replacing pods.
    await new Promise((r) => setTimeout(r, 1_000));
    const after = (await core.listNamespacedPod({ namespace: 'app' })).items;
    expect(after.map((p) => p.metadata!.uid)).toEqual(before);
    expect(after.every(isPodReady)).toBe(true);
    const apps = sandbox.kubeConfig().makeApiClient(AppsV1Api);
    const replicaSets = await apps.listNamespacedReplicaSet({ namespace: 'app' });
    expect(replicaSets.items.map((rs) => rs.metadata!.name)).toEqual([
      expect.stringMatching(/^web-[bcdfghjklmnpqrstvwxz2456789]{10}$/),
    ]);
  });

  it('replaces a deleted Deployment pod', async () => {
    const [victim] = await podsOf('web');
    await core.deleteNamespacedPod({ namespace: 'app', name: victim!.metadata!.name! });
    const pods = await eventually(async () => {
      const ready = await readyPodsOf('web', 3);
      return ready?.every((p) => p.metadata!.uid !== victim!.metadata!.uid) ? ready : undefined;
    }, 'three Ready web pods without the deleted one');
    expect(pods.map((p) => p.metadata!.name)).not.toContain(victim!.metadata!.name);
  });

  it('recreates a deleted DaemonSet pod on its node', async () => {
    const agents = await podsOf('agent');
    // One per worker: the control-plane node's NoSchedule taint keeps the agent off it.
    expect(agents.map((p) => p.spec!.nodeName).sort()).toEqual(['general-1', 'general-2', 'general-3']);
    const victim = agents.find((p) => p.spec!.nodeName === 'general-2')!;
    await core.deleteNamespacedPod({ namespace: 'app', name: victim.metadata!.name! });
    const replacement = await eventually(async () => {
      const pods = await readyPodsOf('agent', 3);
      return pods?.find((p) => p.spec!.nodeName === 'general-2' && p.metadata!.uid !== victim.metadata!.uid);
    }, 'a new Ready agent pod on general-2');
    expect(replacement.metadata!.ownerReferences?.[0]).toMatchObject({ kind: 'DaemonSet', name: 'agent' });
  });

  it('brings a deleted StatefulSet pod back under the same name', async () => {
    const before = await core.readNamespacedPod({ namespace: 'app', name: 'db-1' });
    await core.deleteNamespacedPod({ namespace: 'app', name: 'db-1' });
    const after = await eventually(async () => {
      const pod = await core.readNamespacedPod({ namespace: 'app', name: 'db-1' });
      return pod.metadata!.uid !== before.metadata!.uid && isPodReady(pod) ? pod : undefined;
    }, 'db-1 Ready again with a new uid');
    expect(after.metadata!.labels?.['statefulset.kubernetes.io/pod-name']).toBe('db-1');
  });

  it('taints a node cordoned by a strategic-merge patch and schedules nothing new there', async () => {
    await core.patchNode(
      { name: 'general-2', body: { spec: { unschedulable: true } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    await eventually(async () => {
      const node = await core.readNode({ name: 'general-2' });
      return node.spec?.taints?.some(
        (t) => t.key === 'node.kubernetes.io/unschedulable' && t.effect === 'NoSchedule',
      );
    }, 'the unschedulable taint on general-2');

    const before = new Set((await podsOf('web')).map((p) => p.metadata!.name));
    const apps = sandbox.kubeConfig().makeApiClient(AppsV1Api);
    await apps.patchNamespacedDeploymentScale(
      { namespace: 'app', name: 'web', body: { spec: { replicas: 9 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const pods = await eventually(() => readyPodsOf('web', 9), 'nine Ready web pods');
    const added = pods.filter((p) => !before.has(p.metadata!.name));
    expect(added).toHaveLength(6);
    expect(added.map((p) => p.spec!.nodeName)).not.toContain('general-2');

    await core.patchNode(
      { name: 'general-2', body: { spec: { unschedulable: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    await eventually(async () => {
      const node = await core.readNode({ name: 'general-2' });
      return !node.spec?.unschedulable && !node.spec?.taints?.some((t) => t.key.includes('unschedulable'));
    }, 'general-2 schedulable and untainted again');
  });

  it('runs a Job to completion', async () => {
    const batch = sandbox.kubeConfig().makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({
      namespace: 'app',
      body: {
        metadata: { name: 'report' },
        spec: {
          completions: 2,
          parallelism: 2,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'report', image: 'registry.k8s.io/e2e-test-images/agnhost:2.52' }],
            },
          },
        },
      },
    });
    const job = await eventually(async () => {
      const j = await batch.readNamespacedJob({ namespace: 'app', name: 'report' });
      return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
    }, 'the report Job Complete');
    expect(job.status?.succeeded).toBe(2);
    const pods = await core.listNamespacedPod({ namespace: 'app', labelSelector: 'job-name=report' });
    expect(pods.items.map((p) => p.status?.phase)).toEqual(['Succeeded', 'Succeeded']);
  });
});

describe('Sandbox.workloadsNotReady', () => {
  it('names the workloads short of Ready replicas until the controllers have made and started them all', async () => {
    const clock = new VirtualClock();
    const box = await Sandbox.start({
      scenario: scenarioFromYaml(`
name: growing
kubernetesVersion: v1.31.2
controlPlane: { nodes: 1 }
nodePools:
  - { name: general, count: 2, capacity: { cpu: "8", memory: 32Gi } }
workloads:
  - { name: web, namespace: app, kind: Deployment, replicas: 2 }
  - { name: db, namespace: app, kind: StatefulSet, replicas: 3 }
  - { name: agent, namespace: app, kind: DaemonSet }
`),
      clock,
    });
    try {
      expect(box.workloadsNotReady()).toEqual(
        expect.arrayContaining(['Deployment app/web', 'StatefulSet app/db', 'DaemonSet app/agent']),
      );
      // Note: generous: the three StatefulSet pods start one after another in about 10 s of clock each.
      for (let s = 0; s < 600 && box.workloadsNotReady().length > 0; s++) await clock.advance(1000);
      expect(box.workloadsNotReady()).toEqual([]);
    } finally {
      await box.stop();
    }
  });
});

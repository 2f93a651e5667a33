import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { R } from '../../../src/sandbox/api/resources.ts';
import { DeploymentController } from '../../../src/sandbox/sim/controllers/deployment-controller.ts';
import { ReplicaSetController } from '../../../src/sandbox/sim/controllers/replicaset-controller.ts';
import { StatefulSetController } from '../../../src/sandbox/sim/controllers/statefulset-controller.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';
import { controllerContext, livePods, PodSimulator, settle } from './controller-context.ts';

/**
 * Workloads that already run when their controller first sees them (a restored cluster, the scenario
 * builder's pre-bound pods) are adopted as they are: nothing is recreated or rolled.
 */
type Ctx = ReturnType<typeof controllerContext>;

let ctx: Ctx;
let sim: PodSimulator;
let actors: Array<{ start(): void; stop(): void }>;

beforeEach(() => {
  ctx = controllerContext();
  sim = new PodSimulator(ctx);
  actors = [];
});
afterEach(() => {
  for (const a of actors) a.stop();
});

function run(...created: Array<{ start(): void; stop(): void }>) {
  actors = created;
  for (const a of actors) a.start();
}

const podTemplate = (labels: Record<string, string>, image = 'web:1') => ({
  metadata: { labels },
  spec: { containers: [{ name: 'main', image }] },
});
const podUids = () =>
  livePods(ctx)
    .map((p) => p.metadata.uid)
    .sort();

describe('Deployment adoption', () => {
  function legacyReplicaSet(owner?: KubeObject): KubeObject {
    // Made by another hand: another hash value, and the pod template carries server defaults.
    const labels = { app: 'web', 'pod-template-hash': 'legacy42' };
    const template = podTemplate(labels);
    Object.assign(template.spec.containers[0]!, { imagePullPolicy: 'IfNotPresent', resources: {} });
    return ctx.store.create(R.replicasets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'web-legacy42',
        namespace: 'default',
        labels,
        annotations: { 'deployment.kubernetes.io/revision': '1' },
        ...(owner
          ? {
              ownerReferences: [
                {
                  apiVersion: 'apps/v1',
                  kind: 'Deployment',
                  name: owner.metadata.name!,
                  uid: owner.metadata.uid!,
                  controller: true,
                },
              ],
            }
          : {}),
      },
      spec: { replicas: 3, selector: { matchLabels: labels }, template },
    });
  }

  function createDeployment(image = 'web:1'): KubeObject {
    return ctx.store.create(R.deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: podTemplate({ app: 'web' }, image),
      },
    });
  }

  async function runningLegacyPods(): Promise<string[]> {
    run(new ReplicaSetController(ctx));
    await settle(ctx);
    sim.makeReady();
    await settle(ctx);
    return podUids() as string[];
  }

  it('adopts an orphaned ReplicaSet whose template matches apart from the hash label', async () => {
    legacyReplicaSet();
    const before = await runningLegacyPods();
    expect(before).toHaveLength(3);

    const d = createDeployment();
    const controller = new DeploymentController(ctx);
    controller.start();
    actors.push(controller);
    await settle(ctx);

    const replicaSets = ctx.store.list(R.replicasets, 'default');
    expect(replicaSets.map((rs) => rs.metadata.name)).toEqual(['web-legacy42']);
    expect(replicaSets[0]!.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'Deployment',
      uid: d.metadata.uid,
      controller: true,
    });
    expect(podUids()).toEqual(before);
    const status = ctx.store.get(R.deployments, 'default', 'web')!.status;
    expect(status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
  });

  it('keeps an owned ReplicaSet with another hash value as the new one, and rolls once the template changes', async () => {
    const d = createDeployment();
    legacyReplicaSet(d);
    const before = await runningLegacyPods();
    const controller = new DeploymentController(ctx);
    controller.start();
    actors.push(controller);
    await settle(ctx);
    expect(ctx.store.list(R.replicasets, 'default')).toHaveLength(1);
    expect(podUids()).toEqual(before);

    ctx.store.mutate(R.deployments, 'default', 'web', (draft) => {
      draft.spec.template.spec.containers[0].image = 'web:2';
    });
    await settle(ctx);
    const names = ctx.store.list(R.replicasets, 'default').map((rs) => rs.metadata.name);
    expect(names).toHaveLength(2);
    expect(names).toContain('web-legacy42');
  });
});

describe('StatefulSet adoption', () => {
  function createRunningStatefulSet(revision: string): void {
    const sts = ctx.store.create(R.statefulsets, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'default' },
      spec: {
        replicas: 3,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: podTemplate({ app: 'db' }, 'db:1'),
      },
    });
    for (let i = 0; i < 3; i++) {
      ctx.store.create(R.pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `db-${i}`,
          namespace: 'default',
          labels: { app: 'db', 'controller-revision-hash': revision },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'StatefulSet',
              name: 'db',
              uid: sts.metadata.uid!,
              controller: true,
            },
          ],
        },
        spec: { containers: [{ name: 'main', image: 'db:1' }] },
      });
    }
    sim.makeReady();
    ctx.store.mutate(R.statefulsets, 'default', 'db', (draft) => {
      draft.status = {
        observedGeneration: 1,
        replicas: 3,
        readyReplicas: 3,
        currentReplicas: 3,
        updatedReplicas: 3,
        currentRevision: revision,
        updateRevision: revision,
      };
    });
  }

  it('keeps the revision its status names instead of rolling every pod', async () => {
    createRunningStatefulSet('db-legacy');
    const before = podUids();
    run(new StatefulSetController(ctx));
    await settle(ctx);
    expect(podUids()).toEqual(before);
    expect(ctx.store.get(R.statefulsets, 'default', 'db')!.status).toMatchObject({
      updateRevision: 'db-legacy',
      updatedReplicas: 3,
    });

    // A scale-up keeps the revision; only a template change starts a new one.
    ctx.store.mutate(R.statefulsets, 'default', 'db', (draft) => {
      draft.spec.replicas = 4;
    });
    await settle(ctx);
    expect(ctx.store.get(R.pods, 'default', 'db-3')?.metadata.labels?.['controller-revision-hash']).toBe(
      'db-legacy',
    );
    expect(livePods(ctx).filter((p) => p.metadata.deletionTimestamp)).toHaveLength(0);

    sim.makeReady();
    ctx.store.mutate(R.statefulsets, 'default', 'db', (draft) => {
      draft.spec.template.spec.containers[0].image = 'db:2';
    });
    await settle(ctx);
    const status = ctx.store.get(R.statefulsets, 'default', 'db')!.status;
    expect(status.updateRevision).not.toBe('db-legacy');
    expect(status.currentRevision).toBe('db-legacy');
    expect(ctx.store.get(R.pods, 'default', 'db-3')?.metadata.deletionTimestamp).toBeDefined();
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { R } from '../../../src/sandbox/api/resources.ts';
import type { SandboxContext } from '../../../src/sandbox/context.ts';
import { DeploymentController } from '../../../src/sandbox/sim/controllers/deployment-controller.ts';
import { ReplicaSetController } from '../../../src/sandbox/sim/controllers/replicaset-controller.ts';
import { deleteObject } from '../../../src/sandbox/store/deletion.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';
import { controllerContext, eventsFor, livePods, PodSimulator, settle } from './controller-context.ts';

type Ctx = ReturnType<typeof controllerContext>;

function deployment(replicas: number, strategy?: Record<string, unknown>, image = 'web:1'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      strategy,
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } },
    },
  };
}

const getDeployment = (ctx: SandboxContext) => ctx.store.get(R.deployments, 'default', 'web')!;
const replicaSets = (ctx: SandboxContext) => ctx.store.list(R.replicasets, 'default');

function setImage(ctx: SandboxContext, image: string) {
  ctx.store.mutate(R.deployments, 'default', 'web', (draft) => {
    draft.spec.template.spec.containers[0].image = image;
  });
}

function setReplicas(ctx: SandboxContext, resource: string, name: string, replicas: number) {
  ctx.store.mutate(resource, 'default', name, (draft) => {
    draft.spec.replicas = replicas;
  });
}

describe('ReplicaSetController', () => {
  let ctx: Ctx;
  let rsController: ReplicaSetController;
  beforeEach(() => {
    ctx = controllerContext();
    rsController = new ReplicaSetController(ctx);
    rsController.start();
  });
  afterEach(() => rsController.stop());

  function createReplicaSet(replicas: number) {
    return ctx.store.create(R.replicasets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'cache', namespace: 'default' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'cache' } },
        template: {
          metadata: { labels: { app: 'cache' } },
          spec: { containers: [{ name: 'c', image: 'redis' }] },
        },
      },
    });
  }

  it('creates pods named after it, owned by it, and reports their state', async () => {
    const rs = createReplicaSet(3);
    await settle(ctx);
    const pods = livePods(ctx);
    expect(pods).toHaveLength(3);
    for (const pod of pods) {
      expect(pod.metadata.name).toMatch(/^cache-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      expect(pod.metadata.labels).toEqual({ app: 'cache' });
      expect(pod.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'cache',
          uid: rs.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(pod.spec.nodeName).toBeUndefined();
    }
    new PodSimulator(ctx).makeReady();
    await settle(ctx);
    expect(ctx.store.get(R.replicasets, 'default', 'cache')!.status).toEqual({
      replicas: 3,
      fullyLabeledReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      observedGeneration: 1,
    });
  });

  it('keeps its status with its pods through readiness and label changes, and writes nothing for other pod writes', async () => {
    createReplicaSet(2);
    await settle(ctx);
    new PodSimulator(ctx).makeReady();
    await settle(ctx);
    const status = () => ctx.store.get(R.replicasets, 'default', 'cache')!.status;
    const version = () => ctx.store.get(R.replicasets, 'default', 'cache')!.metadata.resourceVersion;
    const [first, second] = livePods(ctx).map((pod) => pod.metadata.name!);
    const writePod = (name: string, change: (draft: KubeObject) => void) =>
      ctx.store.mutate(R.pods, 'default', name, change);

    // A write a sync does not read (a condition other than Ready) leaves the status as it was.
    const before = version();
    writePod(first!, (draft) => {
      draft.status.conditions.push({ type: 'DisruptionTarget', status: 'True' });
    });
    await settle(ctx);
    expect(version()).toBe(before);

    writePod(first!, (draft) => {
      const ready = draft.status.conditions.find((c: { type: string }) => c.type === 'Ready');
      ready.status = 'False';
    });
    await settle(ctx);
    expect(status()).toMatchObject({ replicas: 2, readyReplicas: 1, availableReplicas: 1 });

    writePod(second!, (draft) => {
      draft.metadata.labels = { app: 'cache', extra: 'x' };
    });
    await settle(ctx);
    expect(status()).toMatchObject({ fullyLabeledReplicas: 2 });
    writePod(second!, (draft) => {
      draft.metadata.labels = { other: 'x' };
    });
    await settle(ctx);
    expect(status()).toMatchObject({ replicas: 2, fullyLabeledReplicas: 1 });
  });

  it('replaces a pod as soon as it starts terminating (a drain)', async () => {
    createReplicaSet(2);
    await settle(ctx);
    new PodSimulator(ctx).makeReady();
    await settle(ctx);
    const [victim] = livePods(ctx);
    deleteObject(ctx.store, ctx.clock, R.pods, 'default', victim!.metadata.name!);
    await settle(ctx);
    expect(
      ctx.store.get(R.pods, 'default', victim!.metadata.name!)?.metadata.deletionTimestamp,
    ).toBeDefined();
    expect(livePods(ctx)).toHaveLength(2);
  });

  it('scales down unscheduled, then not-ready pods before ready ones', async () => {
    createReplicaSet(2);
    await settle(ctx);
    new PodSimulator(ctx).makeReady();
    setReplicas(ctx, R.replicasets, 'cache', 5);
    await settle(ctx);
    const sim = new PodSimulator(ctx);
    const fresh = livePods(ctx).filter((p) => !p.spec.nodeName);
    sim.setReady(fresh[0]!, false);
    const notReady = fresh[0]!.metadata.name;
    const readyBefore = livePods(ctx)
      .filter((p) => p.status.conditions?.some((c: { status: string }) => c.status === 'True'))
      .map((p) => p.metadata.name);
    setReplicas(ctx, R.replicasets, 'cache', 2);
    await settle(ctx);
    const remaining = livePods(ctx).map((p) => p.metadata.name);
    expect(remaining.sort()).toEqual(readyBefore.sort());
    expect(remaining).not.toContain(notReady);
  });
});

describe('DeploymentController', () => {
  let ctx: Ctx;
  let controllers: Array<{ stop(): void }>;
  let sim: PodSimulator;
  beforeEach(() => {
    ctx = controllerContext();
    const rs = new ReplicaSetController(ctx);
    const dc = new DeploymentController(ctx);
    rs.start();
    dc.start();
    controllers = [rs, dc];
    sim = new PodSimulator(ctx);
  });
  afterEach(() => {
    for (const c of controllers) c.stop();
  });

  /** Lets the controllers act, then plays kubelet: pods become Ready, terminating pods go. */
  async function converge(rounds = 20) {
    for (let i = 0; i < rounds; i++) {
      await settle(ctx);
      sim.makeReady();
      sim.finishTerminating();
    }
    await settle(ctx);
  }

  it('creates a ReplicaSet named by the template hash, and its pods', async () => {
    const d = ctx.store.create(R.deployments, deployment(3));
    await converge();
    const [rs] = replicaSets(ctx);
    const hash = rs!.metadata.labels!['pod-template-hash'];
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    expect(rs!.metadata.name).toBe(`web-${hash}`);
    expect(rs!.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        uid: d.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(rs!.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(livePods(ctx).every((p) => p.metadata.labels!['pod-template-hash'] === hash)).toBe(true);
    expect(getDeployment(ctx).status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      unavailableReplicas: 0,
    });
    expect(getDeployment(ctx).status.conditions).toEqual([
      expect.objectContaining({ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }),
      expect.objectContaining({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }),
    ]);
  });

  it('scales up and down with the same ReplicaSet', async () => {
    ctx.store.create(R.deployments, deployment(2));
    await converge();
    setReplicas(ctx, R.deployments, 'web', 5);
    await converge();
    expect(livePods(ctx)).toHaveLength(5);
    setReplicas(ctx, R.deployments, 'web', 1);
    await converge();
    expect(livePods(ctx)).toHaveLength(1);
    expect(replicaSets(ctx)).toHaveLength(1);
    expect(getDeployment(ctx).status).toMatchObject({
      observedGeneration: 3,
      replicas: 1,
      availableReplicas: 1,
    });
  });

  it('counts availability only after minReadySeconds', async () => {
    const d = deployment(2);
    d.spec.minReadySeconds = 10;
    ctx.store.create(R.deployments, d);
    await converge();
    expect(getDeployment(ctx).status).toMatchObject({
      readyReplicas: 2,
      availableReplicas: 0,
      unavailableReplicas: 2,
    });
    await ctx.clock.advance(10_000);
    expect(getDeployment(ctx).status).toMatchObject({ availableReplicas: 2, unavailableReplicas: 0 });
  });

  it.each([
    { replicas: 10, maxSurge: 3, maxUnavailable: 2 },
    { replicas: 10, maxSurge: '25%', maxUnavailable: '25%' },
    { replicas: 4, maxSurge: 0, maxUnavailable: 1 },
    { replicas: 5, maxSurge: 1, maxUnavailable: 0 },
    { replicas: 3, maxSurge: '0%', maxUnavailable: '10%' },
  ])(
    'rolls out within maxSurge $maxSurge / maxUnavailable $maxUnavailable of $replicas at every step',
    async (c) => {
      ctx.store.create(R.deployments, deployment(c.replicas, { type: 'RollingUpdate', rollingUpdate: c }));
      await converge();
      setImage(ctx, 'web:2');
      const surge =
        typeof c.maxSurge === 'number'
          ? c.maxSurge
          : Math.ceil((Number.parseInt(c.maxSurge, 10) * c.replicas) / 100);
      let unavailable =
        typeof c.maxUnavailable === 'number'
          ? c.maxUnavailable
          : Math.floor((Number.parseInt(c.maxUnavailable, 10) * c.replicas) / 100);
      if (surge === 0 && unavailable === 0) unavailable = 1;

      const assertInvariants = () => {
        const live = livePods(ctx);
        const ready = live.filter((p) =>
          p.status.conditions?.some(
            (x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True',
          ),
        );
        expect(live.length).toBeLessThanOrEqual(c.replicas + surge);
        expect(ready.length).toBeGreaterThanOrEqual(c.replicas - unavailable);
      };
      // One pod becomes Ready per step, in a seeded random order: the slowest realistic rollout.
      let steps = 0;
      for (; steps < 200; steps++) {
        await settle(ctx);
        assertInvariants();
        sim.finishTerminating();
        await settle(ctx);
        assertInvariants();
        const waiting = livePods(ctx).filter((p) => !p.spec.nodeName || p.status.conditions === undefined);
        if (waiting.length === 0 && getDeployment(ctx).status.updatedReplicas === c.replicas) break;
        const next = waiting[Math.floor(ctx.random() * waiting.length)];
        if (next) sim.setReady(next, true);
      }
      expect(steps).toBeGreaterThanOrEqual(c.replicas);
      await converge();
      const status = getDeployment(ctx).status;
      expect(status).toMatchObject({
        replicas: c.replicas,
        updatedReplicas: c.replicas,
        availableReplicas: c.replicas,
      });
      expect(livePods(ctx).every((p) => p.spec.containers[0].image === 'web:2')).toBe(true);
      const rss = replicaSets(ctx);
      expect(rss).toHaveLength(2);
      expect(rss.map((rs) => rs.metadata.annotations!['deployment.kubernetes.io/revision']).sort()).toEqual([
        '1',
        '2',
      ]);
      expect(eventsFor(ctx, 'web').some((e) => e.reason === 'ScalingReplicaSet')).toBe(true);
    },
  );

  it('Recreate removes every old pod before creating new ones', async () => {
    ctx.store.create(R.deployments, deployment(3, { type: 'Recreate' }));
    await converge();
    setImage(ctx, 'web:2');
    await settle(ctx);
    const images = () => new Set(ctx.store.list(R.pods).map((p) => p.spec.containers[0].image));
    expect(images()).toEqual(new Set(['web:1']));
    expect(livePods(ctx)).toHaveLength(0);
    sim.finishTerminating();
    await settle(ctx);
    expect(images()).toEqual(new Set(['web:2']));
    await converge();
    expect(getDeployment(ctx).status).toMatchObject({
      updatedReplicas: 3,
      availableReplicas: 3,
      replicas: 3,
    });
  });
});

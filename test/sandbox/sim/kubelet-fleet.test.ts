import { afterEach, describe, expect, it } from 'vitest';
import { R } from '../../../src/sandbox/api/resources.ts';
import { KubeletFleet, RUN_SECONDS_ANNOTATION } from '../../../src/sandbox/sim/kubelet-fleet.ts';
import { deleteObject } from '../../../src/sandbox/store/deletion.ts';
import { condition, makeNode, makePod, type TestContext, testContext } from './context.ts';

let fleet: KubeletFleet | undefined;
afterEach(() => fleet?.stop());

function setup(podStopMs = 1_000): { ctx: TestContext; fleet: KubeletFleet } {
  const ctx = testContext({ podStartMs: 2_000, podReadyMs: 3_000, podStopMs, imagePullMs: 0 });
  fleet = new KubeletFleet(ctx);
  fleet.start();
  ctx.store.create(R.nodes, makeNode('node-a'));
  return { ctx, fleet };
}

const pod = (ctx: TestContext, name: string) => ctx.store.get(R.pods, 'default', name);

describe('KubeletFleet node status', () => {
  it('posts Ready and the pressure conditions for a new node, with addresses and a boot id', async () => {
    const { ctx } = setup();
    await ctx.clock.advance(0);
    const node = ctx.store.get(R.nodes, undefined, 'node-a');
    expect(condition(node, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'KubeletReady',
      message: 'kubelet is posting ready status',
    });
    for (const type of ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'])
      expect(condition(node, type)?.status).toBe('False');
    expect(node?.status.addresses).toContainEqual(expect.objectContaining({ type: 'InternalIP' }));
    expect(node?.status.nodeInfo.bootID).toMatch(/^[0-9a-f-]{36}$/);
    expect(node?.spec.podCIDR).toMatch(/\/24$/);
  });

  it('writes a node only about every five minutes when nothing changes', async () => {
    const { ctx } = setup();
    await ctx.clock.advance(0);
    const rv = Number(ctx.store.get(R.nodes, undefined, 'node-a')?.metadata.resourceVersion);
    await ctx.clock.advance(60_000);
    expect(Number(ctx.store.get(R.nodes, undefined, 'node-a')?.metadata.resourceVersion)).toBe(rv);
    await ctx.clock.advance(10 * 60_000);
    expect(Number(ctx.store.get(R.nodes, undefined, 'node-a')?.metadata.resourceVersion)).toBeGreaterThan(rv);
  });
});

describe('KubeletFleet pod lifecycle', () => {
  it('starts a bound pod after podStartMs and makes it Ready after podReadyMs more', async () => {
    const { ctx } = setup();
    ctx.store.create(R.pods, makePod('web', { nodeName: 'node-a' }));
    await ctx.clock.advance(1_999);
    expect(pod(ctx, 'web')?.status.phase).toBe('Pending');
    await ctx.clock.advance(1);
    const running = pod(ctx, 'web');
    expect(running?.status).toMatchObject({ phase: 'Running', hostIP: expect.stringMatching(/^10\./) });
    expect(running?.status.podIP).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(running?.status.containerStatuses[0]).toMatchObject({
      name: 'app',
      ready: false,
      restartCount: 0,
      image: 'nginx:1.25',
      state: { running: {} },
      containerID: expect.stringMatching(/^containerd:\/\/[0-9a-f]{64}$/),
    });
    expect(condition(running, 'Ready')?.status).toBe('False');
    expect(condition(running, 'Initialized')?.status).toBe('True');
    await ctx.clock.advance(2_999);
    expect(condition(pod(ctx, 'web'), 'Ready')?.status).toBe('False');
    await ctx.clock.advance(1);
    expect(condition(pod(ctx, 'web'), 'Ready')?.status).toBe('True');
    expect(condition(pod(ctx, 'web'), 'ContainersReady')?.status).toBe('True');
    expect(pod(ctx, 'web')?.status.containerStatuses[0].ready).toBe(true);
  });

  it('gives each pod on a node its own IP', async () => {
    const { ctx } = setup();
    for (let i = 0; i < 20; i++) ctx.store.create(R.pods, makePod(`p${i}`, { nodeName: 'node-a' }));
    await ctx.clock.advance(2_000);
    const ips = ctx.store.podsOnNode('node-a').map((p) => p.status.podIP);
    expect(new Set(ips).size).toBe(20);
  });

  it.each([
    {
      case: 'honours SIGTERM: gone after podStopMs',
      grace: 30,
      ignores: false,
      stopMs: 1_000,
      goneAfter: 1_000,
    },
    {
      case: 'ignores SIGTERM: gone at the end of grace',
      grace: 30,
      ignores: true,
      stopMs: 1_000,
      goneAfter: 30_000,
    },
    {
      case: 'a grace period shorter than podStopMs',
      grace: 2,
      ignores: false,
      stopMs: 10_000,
      goneAfter: 2_000,
    },
  ])('graceful deletion $case', async ({ grace, ignores, stopMs, goneAfter }) => {
    const { ctx } = setup(stopMs);
    if (ignores) ctx.faults.ignoreSigtermSelectors = ['app=web'];
    ctx.store.create(R.pods, makePod('web', { nodeName: 'node-a' }));
    await ctx.clock.advance(5_000);
    deleteObject(ctx.store, ctx.clock, R.pods, 'default', 'web', { gracePeriodSeconds: grace });
    expect(pod(ctx, 'web')?.metadata.deletionTimestamp).toBeDefined();
    await ctx.clock.advance(goneAfter - 1);
    expect(pod(ctx, 'web')).toBeDefined();
    await ctx.clock.advance(1);
    expect(pod(ctx, 'web')).toBeUndefined();
  });

  it('stops a pod with grace 0 at once, and keeps one with finalizers terminated until they are removed', async () => {
    const { ctx } = setup();
    const withFinalizer = makePod('kept', { nodeName: 'node-a' });
    withFinalizer.metadata.finalizers = ['example.com/hold'];
    ctx.store.create(R.pods, withFinalizer);
    await ctx.clock.advance(5_000);
    deleteObject(ctx.store, ctx.clock, R.pods, 'default', 'kept', { gracePeriodSeconds: 0 });
    await ctx.clock.advance(0);
    const stopped = pod(ctx, 'kept');
    expect(stopped?.status.phase).toBe('Succeeded');
    expect(stopped?.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 0 });
    ctx.store.mutate(R.pods, 'default', 'kept', (draft) => {
      draft.metadata.finalizers = [];
    });
    await ctx.clock.advance(0);
    expect(pod(ctx, 'kept')).toBeUndefined();
  });

  it('runs a Job pod to completion after its run-seconds annotation', async () => {
    const { ctx } = setup();
    ctx.store.create(
      R.pods,
      makePod('job-1', {
        nodeName: 'node-a',
        annotations: { [RUN_SECONDS_ANNOTATION]: '10' },
        spec: { restartPolicy: 'Never' },
      }),
    );
    await ctx.clock.advance(2_000 + 9_999);
    expect(pod(ctx, 'job-1')?.status.phase).toBe('Running');
    await ctx.clock.advance(1);
    expect(pod(ctx, 'job-1')?.status.phase).toBe('Succeeded');
    expect(pod(ctx, 'job-1')?.status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
  });

  it.each([
    { exitCode: 0, phase: 'Succeeded' },
    { exitCode: 3, phase: 'Failed' },
  ])('lets a registered behaviour end a Job pod with exit code $exitCode', async ({ exitCode, phase }) => {
    const { ctx, fleet } = setup();
    const seen: string[] = [];
    fleet.addPodBehaviour((p) =>
      p.metadata.labels?.upgrade === 'yes'
        ? {
            async run(running) {
              seen.push(running.status.phase);
              await ctx.clock.sleep(60_000);
              return { exitCode, message: 'upgrade finished' };
            },
          }
        : undefined,
    );
    const ownerReferences = [
      { apiVersion: 'batch/v1', kind: 'Job', name: 'up', uid: 'job-uid', controller: true },
    ];
    ctx.store.create(
      R.pods,
      makePod('up-x', { nodeName: 'node-a', labels: { upgrade: 'yes' }, ownerReferences }),
    );
    await ctx.clock.advance(30_000);
    expect(seen).toEqual(['Running']);
    expect(pod(ctx, 'up-x')?.status.phase).toBe('Running');
    await ctx.clock.advance(40_000);
    expect(pod(ctx, 'up-x')?.status.phase).toBe(phase);
    expect(pod(ctx, 'up-x')?.status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode,
      message: 'upgrade finished',
    });
  });
});

describe('KubeletFleet.restartNode', () => {
  it('takes the node and its pods down, then brings them back at the new version', async () => {
    const { ctx, fleet } = setup();
    ctx.store.create(R.pods, makePod('web', { nodeName: 'node-a' }));
    await ctx.clock.advance(10_000);
    const bootBefore = ctx.store.get(R.nodes, undefined, 'node-a')?.status.nodeInfo.bootID;
    let done = false;
    void fleet.restartNode('node-a', { kubeletVersion: 'v1.30.1', downtimeMs: 30_000 }).then(() => {
      done = true;
    });
    await ctx.clock.advance(0);
    expect(fleet.isKubeletAlive('node-a')).toBe(false);
    expect(condition(ctx.store.get(R.nodes, undefined, 'node-a'), 'Ready')).toMatchObject({
      status: 'False',
      reason: 'KubeletNotReady',
    });
    expect(condition(pod(ctx, 'web'), 'Ready')?.status).toBe('False');
    await ctx.clock.advance(30_000);
    expect(done).toBe(true);
    const node = ctx.store.get(R.nodes, undefined, 'node-a');
    expect(condition(node, 'Ready')?.status).toBe('True');
    expect(node?.status.nodeInfo.kubeletVersion).toBe('v1.30.1');
    expect(node?.status.nodeInfo.kubeProxyVersion).toBe('v1.30.1');
    expect(node?.status.nodeInfo.bootID).not.toBe(bootBefore);
    expect(pod(ctx, 'web')?.status.containerStatuses[0].restartCount).toBe(1);
    expect(condition(pod(ctx, 'web'), 'Ready')?.status).toBe('False');
    await ctx.clock.advance(3_000);
    expect(condition(pod(ctx, 'web'), 'Ready')?.status).toBe('True');
  });

  it('never brings back a node when comesBack is false, and the promise still resolves', async () => {
    const { ctx, fleet } = setup();
    await ctx.clock.advance(0);
    await fleet.restartNode('node-a', { kubeletVersion: 'v1.30.1', downtimeMs: 1_000, comesBack: false });
    await ctx.clock.advance(3_600_000);
    expect(fleet.isKubeletAlive('node-a')).toBe(false);
    expect(ctx.store.get(R.nodes, undefined, 'node-a')?.status.nodeInfo.kubeletVersion).toBe('v1.29.3');
  });
});

describe('KubeletFleet mirror pods', () => {
  const mirror = (name: string) =>
    makePod(name, { nodeName: 'node-a', annotations: { 'kubernetes.io/config.mirror': 'abc' } });

  it('starts a new mirror pod Ready at once and brings it back Ready after a restart', async () => {
    const { ctx, fleet } = setup();
    ctx.store.create(R.pods, mirror('etcd-node-a'));
    await ctx.clock.advance(0);
    expect(condition(pod(ctx, 'etcd-node-a'), 'Ready')?.status).toBe('True');
    void fleet.restartNode('node-a', { downtimeMs: 10_000 });
    await ctx.clock.advance(0);
    expect(condition(pod(ctx, 'etcd-node-a'), 'Ready')?.status).toBe('False');
    await ctx.clock.advance(10_000);
    expect(condition(pod(ctx, 'etcd-node-a'), 'Ready')?.status).toBe('True');
    expect(pod(ctx, 'etcd-node-a')?.status.containerStatuses[0].restartCount).toBe(1);
  });

  it('leaves the readiness of a running mirror pod to the control plane', async () => {
    const { ctx } = setup();
    ctx.store.create(R.pods, mirror('kube-apiserver-node-a'));
    await ctx.clock.advance(0);
    ctx.store.mutate(R.pods, 'default', 'kube-apiserver-node-a', (draft) => {
      draft.status.conditions = draft.status.conditions.map((c: { type: string }) =>
        c.type === 'Ready' ? { ...c, status: 'False' } : c,
      );
    });
    await ctx.clock.advance(60_000);
    expect(condition(pod(ctx, 'kube-apiserver-node-a'), 'Ready')?.status).toBe('False');
  });
});

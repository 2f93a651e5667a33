import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { R } from '../../../src/sandbox/api/resources.ts';
import { DaemonSetController } from '../../../src/sandbox/sim/controllers/daemonset-controller.ts';
import { JobController } from '../../../src/sandbox/sim/controllers/job-controller.ts';
import { StatefulSetController } from '../../../src/sandbox/sim/controllers/statefulset-controller.ts';
import { deleteObject } from '../../../src/sandbox/store/deletion.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';
import { controllerContext, livePods, PodSimulator, settle } from './controller-context.ts';

type Ctx = ReturnType<typeof controllerContext>;

let ctx: Ctx;
let sim: PodSimulator;
let actors: Array<{ start(): void; stop(): void }>;

function run(...created: Array<{ start(): void; stop(): void }>) {
  actors = created;
  for (const a of actors) a.start();
}

beforeEach(() => {
  ctx = controllerContext();
  sim = new PodSimulator(ctx);
  actors = [];
});
afterEach(() => {
  for (const a of actors) a.stop();
});

const names = (pods: KubeObject[]) => pods.map((p) => p.metadata.name).sort();
const template = (labels: Record<string, string>, spec: Record<string, unknown> = {}) => ({
  metadata: { labels },
  spec: { containers: [{ name: 'main', image: 'img:1' }], ...spec },
});

describe('StatefulSetController', () => {
  function createStatefulSet(replicas: number, podManagementPolicy?: string) {
    ctx.store.create(R.statefulsets, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'default' },
      spec: {
        replicas,
        podManagementPolicy,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: template({ app: 'db' }),
      },
    });
  }
  const sts = () => ctx.store.get(R.statefulsets, 'default', 'db')!;

  it('creates ordinals one at a time, each once the previous is Running and Ready', async () => {
    run(new StatefulSetController(ctx));
    createStatefulSet(3);
    for (const expected of [['db-0'], ['db-0', 'db-1'], ['db-0', 'db-1', 'db-2']]) {
      await settle(ctx);
      expect(names(livePods(ctx))).toEqual(expected);
      sim.makeReady();
    }
    await settle(ctx);
    const pod = ctx.store.get(R.pods, 'default', 'db-1')!;
    expect(pod.metadata.labels).toMatchObject({
      app: 'db',
      'statefulset.kubernetes.io/pod-name': 'db-1',
      'apps.kubernetes.io/pod-index': '1',
      'controller-revision-hash': sts().status.updateRevision,
    });
    expect(pod.spec).toMatchObject({ hostname: 'db-1', subdomain: 'db' });
    expect(sts().status).toMatchObject({
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      observedGeneration: 1,
    });
  });

  it('creates every pod at once with Parallel', async () => {
    run(new StatefulSetController(ctx));
    createStatefulSet(3, 'Parallel');
    await settle(ctx);
    expect(names(livePods(ctx))).toEqual(['db-0', 'db-1', 'db-2']);
  });

  it('recreates a deleted pod under the same name once the old one is gone', async () => {
    run(new StatefulSetController(ctx));
    createStatefulSet(2);
    for (let i = 0; i < 3; i++) {
      await settle(ctx);
      sim.makeReady();
    }
    const oldUid = ctx.store.get(R.pods, 'default', 'db-0')!.metadata.uid;
    deleteObject(ctx.store, ctx.clock, R.pods, 'default', 'db-0');
    await settle(ctx);
    expect(ctx.store.get(R.pods, 'default', 'db-0')!.metadata.uid).toBe(oldUid);
    sim.finishTerminating();
    await settle(ctx);
    const replacement = ctx.store.get(R.pods, 'default', 'db-0')!;
    expect(replacement.metadata.uid).not.toBe(oldUid);
    expect(replacement.metadata.deletionTimestamp).toBeUndefined();
  });

  it('scales down from the highest ordinal and rolls template changes from the highest down', async () => {
    run(new StatefulSetController(ctx));
    createStatefulSet(3);
    for (let i = 0; i < 4; i++) {
      await settle(ctx);
      sim.makeReady();
    }
    ctx.store.mutate(R.statefulsets, 'default', 'db', (d) => {
      d.spec.replicas = 2;
    });
    await settle(ctx);
    expect(ctx.store.get(R.pods, 'default', 'db-2')!.metadata.deletionTimestamp).toBeDefined();
    sim.finishTerminating();
    await settle(ctx);
    expect(names(livePods(ctx))).toEqual(['db-0', 'db-1']);

    ctx.store.mutate(R.statefulsets, 'default', 'db', (d) => {
      d.spec.template.spec.containers[0].image = 'img:2';
    });
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      await settle(ctx);
      const terminating = ctx.store.list(R.pods, 'default').filter((p) => p.metadata.deletionTimestamp);
      expect(terminating.length).toBeLessThanOrEqual(1);
      order.push(...terminating.map((p) => p.metadata.name!));
      sim.finishTerminating();
      await settle(ctx);
      sim.makeReady();
    }
    expect(order).toEqual(['db-1', 'db-0']);
    expect(livePods(ctx).every((p) => p.spec.containers[0].image === 'img:2')).toBe(true);
    expect(sts().status.currentRevision).toBe(sts().status.updateRevision);
  });
});

describe('DaemonSetController', () => {
  function node(
    name: string,
    extra: { labels?: Record<string, string>; taints?: unknown[]; unschedulable?: boolean } = {},
  ) {
    ctx.store.create(R.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, ...extra.labels } },
      spec: { taints: extra.taints, unschedulable: extra.unschedulable },
    });
  }
  function createDaemonSet(spec: Record<string, unknown> = {}) {
    ctx.store.create(R.daemonsets, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: template({ app: 'agent' }, spec) },
    });
  }
  const podNodes = () =>
    livePods(ctx)
      .map((p) => p.spec.nodeName)
      .sort();
  const ds = () => ctx.store.get(R.daemonsets, 'default', 'agent')!;

  it('runs one pod per node, cordoned and NotReady-tainted nodes included, but not under untolerated taints', async () => {
    run(new DaemonSetController(ctx));
    node('n1');
    node('n2', {
      unschedulable: true,
      taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
    });
    node('n3', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] });
    node('n4', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
    createDaemonSet();
    await settle(ctx);
    expect(podNodes()).toEqual(['n1', 'n2', 'n3']);
    const pod = livePods(ctx)[0]!;
    expect(pod.metadata.name).toMatch(/^agent-[a-z0-9]{5}$/);
    expect(pod.spec.tolerations).toContainEqual({
      key: 'node.kubernetes.io/unschedulable',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
    sim.makeReady();
    // Readiness reaches the status within a second of clock time (status syncs are batched).
    await ctx.clock.advance(1_000);
    expect(ds().status).toMatchObject({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      numberReady: 3,
      numberAvailable: 3,
      updatedNumberScheduled: 3,
      numberMisscheduled: 0,
      observedGeneration: 1,
    });
  });

  it('follows nodes within a second: new eligible nodes get a pod, deleted or relabelled ones lose it, deleted pods come back', async () => {
    // Changes to nodes and daemon pods are batched: each DaemonSet syncs at most once a second.
    const aSecond = () => ctx.clock.advance(1_000);
    run(new DaemonSetController(ctx));
    node('n1', { labels: { role: 'edge' } });
    node('n2', { labels: { role: 'edge' } });
    createDaemonSet({ nodeSelector: { role: 'edge' } });
    await settle(ctx);
    expect(podNodes()).toEqual(['n1', 'n2']);
    node('n3', { labels: { role: 'edge' } });
    node('n4');
    await aSecond();
    expect(podNodes()).toEqual(['n1', 'n2', 'n3']);
    ctx.store.mutate(R.nodes, undefined, 'n2', (n) => {
      n.metadata.labels = { ...n.metadata.labels, role: 'core' };
    });
    ctx.store.remove(R.nodes, undefined, 'n3');
    await aSecond();
    expect(podNodes()).toEqual(['n1']);
    deleteObject(ctx.store, ctx.clock, R.pods, 'default', livePods(ctx)[0]!.metadata.name!);
    await aSecond();
    expect(podNodes()).toEqual(['n1']);
  });
  it('counts in its status a pod kept where none should run now, and the pods of a rolling update', async () => {
    run(new DaemonSetController(ctx));
    node('n1');
    node('n2');
    createDaemonSet();
    await settle(ctx);
    sim.makeReady();
    await ctx.clock.advance(1_000);
    // A NoSchedule taint stops new daemons, but the one running stays (misscheduled).
    ctx.store.mutate(R.nodes, undefined, 'n2', (n) => {
      n.spec = { ...n.spec, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] };
    });
    await ctx.clock.advance(1_000);
    expect(podNodes()).toEqual(['n1', 'n2']);
    expect(ds().status).toMatchObject({
      desiredNumberScheduled: 1,
      currentNumberScheduled: 1,
      numberReady: 1,
      numberAvailable: 1,
      updatedNumberScheduled: 1,
      numberMisscheduled: 1,
    });
    // A new template: the rolling update replaces n1's pod; the new one is not Ready yet.
    ctx.store.mutate(R.daemonsets, 'default', 'agent', (d) => {
      d.spec.template.spec.containers[0].image = 'agent:2';
      d.metadata.generation = 2;
    });
    await ctx.clock.advance(1_000);
    expect(ds().status).toMatchObject({
      desiredNumberScheduled: 1,
      numberMisscheduled: 1,
      numberAvailable: 0,
      numberUnavailable: 1,
      observedGeneration: 2,
    });
    expect(ds().status.updatedNumberScheduled).toBe(ds().status.currentNumberScheduled);
  });

  it('keeps its pods and status, change after change, as a walk over every node finds them', async () => {
    // A sync visits only the nodes that changed (or whose daemon pods did) and keeps its counts node by node:
    // after every round of changes its pods and status must be what the rules give for the whole cluster.
    const minReadySeconds = 2;
    run(new DaemonSetController(ctx));
    for (let i = 0; i < 12; i++) node(`n${i}`, { labels: { role: 'edge' } });
    ctx.store.create(R.daemonsets, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: 'default' },
      spec: {
        minReadySeconds,
        selector: { matchLabels: { app: 'agent' } },
        template: template({ app: 'agent' }, { nodeSelector: { role: 'edge' } }),
      },
    });
    await settle(ctx);
    sim.makeReady();

    const taint = (key: string, effect: string) => ({ key, value: 'x', effect });
    const setNode = (name: string, labels: Record<string, string>, taints: unknown[]) =>
      ctx.store.mutate(R.nodes, undefined, name, (n) => {
        n.metadata.labels = { 'kubernetes.io/hostname': name, ...labels };
        n.spec = { ...n.spec, taints };
      });
    const podOn = (nodeName: string) => livePods(ctx).find((p) => p.spec.nodeName === nodeName);
    // Each round, in order: what happens to the cluster.
    const rounds: Array<() => void> = [
      () => setNode('n1', { role: 'edge' }, [taint('dedicated', 'NoSchedule')]),
      () => setNode('n2', { role: 'edge' }, [taint('evict', 'NoExecute')]),
      () => setNode('n3', { role: 'core' }, []),
      () => ctx.store.remove(R.nodes, undefined, 'n4'),
      () => node('n12', { labels: { role: 'edge' } }),
      () => sim.setPhase(podOn('n5')!, 'Failed'),
      () => deleteObject(ctx.store, ctx.clock, R.pods, 'default', podOn('n6')!.metadata.name!),
      () => sim.setReady(podOn('n7')!, false),
      () => setNode('n1', { role: 'edge' }, []),
      () => setNode('n2', { role: 'edge' }, []),
      () => setNode('n3', { role: 'edge' }, []),
      () => sim.makeReady(),
    ];
    for (const change of rounds) {
      change();
      await ctx.clock.advance(1_000);
      sim.finishTerminating();
      await ctx.clock.advance(1_000);
      expect({ pods: podNodes(), status: ds().status }).toEqual(wholeClusterView(minReadySeconds));
    }

    // A fresh controller, which walks every node, finds nothing to change.
    const before = ds().metadata.resourceVersion;
    const podsBefore = names(livePods(ctx));
    actors[0]!.stop();
    run(new DaemonSetController(ctx));
    await ctx.clock.advance(2_000);
    expect(ds().metadata.resourceVersion).toBe(before);
    expect(names(livePods(ctx))).toEqual(podsBefore);

    // A rolling update replaces every pod, one unavailable at a time.
    ctx.store.mutate(R.daemonsets, 'default', 'agent', (d) => {
      d.spec.template.spec.containers[0].image = 'agent:2';
    });
    const rolledOut = () => ds().status.observedGeneration === 2 && ds().status.updatedNumberScheduled === 12;
    for (let second = 0; second < 60 && !rolledOut(); second++) {
      await ctx.clock.advance(1_000);
      sim.finishTerminating();
      sim.makeReady();
      const onEligible = livePods(ctx).filter((p) => p.spec.nodeName !== 'n4');
      expect(onEligible.filter((p) => !isAvailableNow(p, minReadySeconds)).length).toBeLessThanOrEqual(1);
    }
    await ctx.clock.advance(3_000);
    expect(livePods(ctx).map((p) => p.spec.containers[0].image)).toEqual(Array(12).fill('agent:2'));
    expect({ pods: podNodes(), status: ds().status }).toEqual(wholeClusterView(minReadySeconds));
  });

  /** Where the daemons must run and the status they make, from the rules over every node and pod now. */
  function wholeClusterView(minReadySeconds: number) {
    const nodes = ctx.store.list(R.nodes);
    const taintKeys = (n: KubeObject) => (n.spec?.taints ?? []).map((t: { key: string }) => t.key);
    const shouldRun = nodes.filter((n) => n.metadata.labels?.role === 'edge' && taintKeys(n).length === 0);
    const mayStay = (n: KubeObject) => n.metadata.labels?.role === 'edge' && !taintKeys(n).includes('evict');
    const live = livePods(ctx).filter((p) => p.status?.phase !== 'Failed');
    const onNode = (n: KubeObject) => live.filter((p) => p.spec.nodeName === n.metadata.name);
    const running = shouldRun.flatMap(onNode);
    const misscheduled = nodes.filter((n) => !shouldRun.includes(n) && mayStay(n) && onNode(n).length > 0);
    const ready = running.filter((p) => isAvailableNow(p, 0)).length;
    const available = running.filter((p) => isAvailableNow(p, minReadySeconds)).length;
    const revision = ds().metadata.generation === 1 ? 'img:1' : 'agent:2';
    return {
      pods: [...shouldRun, ...misscheduled].map((n) => n.metadata.name).sort(),
      status: {
        currentNumberScheduled: running.length,
        desiredNumberScheduled: shouldRun.length,
        numberMisscheduled: misscheduled.length,
        numberReady: ready,
        numberAvailable: available,
        updatedNumberScheduled: running.filter((p) => p.spec.containers[0].image === revision).length,
        observedGeneration: ds().metadata.generation,
        ...(shouldRun.length > available ? { numberUnavailable: shouldRun.length - available } : {}),
      },
    };
  }

  function isAvailableNow(pod: KubeObject, minReadySeconds: number): boolean {
    const ready = (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
    if (ready?.status !== 'True') return false;
    return Date.parse(ready.lastTransitionTime) + minReadySeconds * 1000 <= ctx.clock.now();
  }
});

describe('JobController', () => {
  function createJob(spec: Record<string, unknown>, podSpec: Record<string, unknown> = {}) {
    return ctx.store.create(R.jobs, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'upgrade', namespace: 'default' },
      spec: { ...spec, template: template({ app: 'upgrade' }, { restartPolicy: 'Never', ...podSpec }) },
    });
  }
  const job = () => ctx.store.get(R.jobs, 'default', 'upgrade')!;
  const conditionTypes = () => (job().status.conditions ?? []).map((c: { type: string }) => c.type);

  it('runs pods to completions, parallelism at a time, keeping a pinned nodeName', async () => {
    run(new JobController(ctx));
    const created = createJob({ completions: 3, parallelism: 2 }, { nodeName: 'n7' });
    await settle(ctx);
    let active = livePods(ctx);
    expect(active).toHaveLength(2);
    expect(active[0]!.spec.nodeName).toBe('n7');
    expect(active[0]!.metadata.labels).toMatchObject({
      'batch.kubernetes.io/job-name': 'upgrade',
      'job-name': 'upgrade',
      'controller-uid': created.metadata.uid,
      'batch.kubernetes.io/controller-uid': created.metadata.uid,
    });
    for (let round = 0; round < 3; round++) {
      active = livePods(ctx).filter((p) => p.status.phase !== 'Succeeded');
      if (active[0]) sim.setPhase(active[0], 'Succeeded');
      await settle(ctx);
    }
    expect(job().status).toMatchObject({ succeeded: 3, failed: 0, active: 0 });
    expect(job().status.completionTime).toBeDefined();
    expect(conditionTypes()).toContain('Complete');
  });

  it('fails once more pods failed than backoffLimit allows', async () => {
    run(new JobController(ctx));
    createJob({ backoffLimit: 2 });
    for (let i = 0; i < 3; i++) {
      await settle(ctx);
      const running = livePods(ctx).filter((p) => p.status.phase !== 'Failed');
      expect(running).toHaveLength(1);
      sim.setPhase(running[0]!, 'Failed');
    }
    await settle(ctx);
    expect(job().status).toMatchObject({ failed: 3, active: 0 });
    expect(job().status.conditions).toContainEqual(
      expect.objectContaining({ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }),
    );
    expect(livePods(ctx).filter((p) => p.status.phase !== 'Failed')).toHaveLength(0);
  });

  it('counts a pod removed before it finished as failed and replaces it', async () => {
    run(new JobController(ctx));
    createJob({});
    await settle(ctx);
    const [first] = livePods(ctx);
    ctx.store.remove(R.pods, 'default', first!.metadata.name!);
    await settle(ctx);
    expect(job().status).toMatchObject({ failed: 1, active: 1 });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { R } from '../../../src/sandbox/api/resources.ts';
import { KubeletFleet } from '../../../src/sandbox/sim/kubelet-fleet.ts';
import { Scheduler } from '../../../src/sandbox/sim/scheduler.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';
import { condition, makeNode, makePod, type TestContext, testContext } from './context.ts';

const actors: Array<{ stop(): void }> = [];
afterEach(() => {
  for (const actor of actors.splice(0)) actor.stop();
});

async function cluster(nodes: KubeObject[]): Promise<TestContext> {
  const ctx = testContext();
  const fleet = new KubeletFleet(ctx);
  const scheduler = new Scheduler(ctx, fleet);
  fleet.start();
  scheduler.start();
  actors.push(scheduler, fleet);
  for (const node of nodes) ctx.store.create(R.nodes, node);
  await ctx.clock.advance(0);
  return ctx;
}

const nodeOf = (ctx: TestContext, name: string): string | undefined =>
  ctx.store.get(R.pods, 'default', name)?.spec.nodeName;

describe('Scheduler', () => {
  it('binds a pod with a PodScheduled condition and spreads pods by least allocation', async () => {
    const ctx = await cluster([makeNode('a'), makeNode('b')]);
    ctx.store.create(R.pods, makePod('p1', { cpu: '1' }));
    ctx.store.create(R.pods, makePod('p2', { cpu: '1' }));
    await ctx.clock.advance(0);
    expect(new Set([nodeOf(ctx, 'p1'), nodeOf(ctx, 'p2')])).toEqual(new Set(['a', 'b']));
    expect(condition(ctx.store.get(R.pods, 'default', 'p1'), 'PodScheduled')?.status).toBe('True');
  });

  it.each([
    {
      case: 'cpu requests against allocatable',
      nodes: [makeNode('small', { cpu: '1' }), makeNode('big', { cpu: '8' })],
      pod: makePod('p', { cpu: '2' }),
      expected: 'big',
    },
    {
      case: 'memory requests',
      nodes: [makeNode('small', { memory: '1Gi' }), makeNode('big', { memory: '64Gi' })],
      pod: makePod('p', { memory: '2Gi' }),
      expected: 'big',
    },
    {
      case: 'spec.unschedulable',
      nodes: [makeNode('cordoned', { unschedulable: true, cpu: '64' }), makeNode('open')],
      pod: makePod('p'),
      expected: 'open',
    },
    {
      case: 'NoSchedule taints without toleration',
      nodes: [
        makeNode('tainted', { cpu: '64', taints: [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }] }),
        makeNode('plain'),
      ],
      pod: makePod('p'),
      expected: 'plain',
    },
    {
      case: 'a toleration (Equal) lets a pod onto a tainted node',
      nodes: [
        makeNode('tainted', { cpu: '64', taints: [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }] }),
        makeNode('z'),
      ],
      pod: makePod('p', {
        spec: {
          tolerations: [{ key: 'gpu', operator: 'Equal', value: 'yes' }],
        },
      }),
      expected: 'tainted',
    },
    {
      case: 'nodeSelector',
      nodes: [makeNode('a', { cpu: '64' }), makeNode('b', { labels: { pool: 'db' } })],
      pod: makePod('p', { spec: { nodeSelector: { pool: 'db' } } }),
      expected: 'b',
    },
    {
      case: 'required node affinity (ORed terms, In and Gt)',
      nodes: [
        makeNode('a', { cpu: '64', labels: { zone: 'z1', gen: '2' } }),
        makeNode('b', { labels: { zone: 'z2', gen: '5' } }),
      ],
      pod: makePod('p', {
        spec: {
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z9'] }] },
                  {
                    matchExpressions: [
                      { key: 'zone', operator: 'Exists' },
                      { key: 'gen', operator: 'Gt', values: ['3'] },
                    ],
                  },
                ],
              },
            },
          },
        },
      }),
      expected: 'b',
    },
    {
      case: 'node affinity matchFields metadata.name',
      nodes: [makeNode('a', { cpu: '64' }), makeNode('b')],
      pod: makePod('p', {
        spec: {
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] },
                ],
              },
            },
          },
        },
      }),
      expected: 'b',
    },
  ])('honours $case', async ({ nodes, pod, expected }) => {
    const ctx = await cluster(nodes);
    ctx.store.create(R.pods, pod);
    await ctx.clock.advance(0);
    expect(nodeOf(ctx, 'p')).toBe(expected);
  });

  it('respects the allocatable pod count', async () => {
    const ctx = await cluster([makeNode('a', { pods: '3' })]);
    for (let i = 0; i < 4; i++) ctx.store.create(R.pods, makePod(`p${i}`));
    await ctx.clock.advance(0);
    expect(ctx.store.podsOnNode('a')).toHaveLength(3);
    const pending = ctx.store.list(R.pods).filter((p) => !p.spec.nodeName);
    expect(condition(pending[0], 'PodScheduled')?.message).toMatch(
      /^0\/1 nodes are available: 1 Too many pods\./,
    );
  });

  it('reports Unschedulable with the reasons per node and a FailedScheduling event, then binds when room appears', async () => {
    const ctx = await cluster([
      makeNode('a', { unschedulable: true }),
      makeNode('b', { unschedulable: true }),
      makeNode('c', { cpu: '1' }),
      makeNode('d', { cpu: '1' }),
      makeNode('e', { taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] }),
    ]);
    ctx.store.create(R.pods, makePod('big', { cpu: '2' }));
    await ctx.clock.advance(0);
    const pod = ctx.store.get(R.pods, 'default', 'big');
    expect(pod?.spec.nodeName).toBeUndefined();
    expect(condition(pod, 'PodScheduled')).toMatchObject({
      status: 'False',
      reason: 'Unschedulable',
      message:
        '0/5 nodes are available: 1 node(s) had untolerated taint {dedicated: infra}, 2 Insufficient cpu, ' +
        '2 node(s) were unschedulable. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.',
    });
    const events = ctx.store.list(R.events).filter((e) => e.reason === 'FailedScheduling');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Warning', involvedObject: { name: 'big' } });

    await ctx.clock.advance(30_000);
    expect(ctx.store.list(R.events).filter((e) => e.reason === 'FailedScheduling')).toHaveLength(1);

    ctx.store.mutate(R.nodes, undefined, 'a', (node) => {
      delete node.spec.unschedulable;
    });
    await ctx.clock.advance(1_000);
    expect(nodeOf(ctx, 'big')).toBe('a');
  });

  it('does not place pods on a node whose kubelet is down', async () => {
    const ctx = testContext();
    const fleet = new KubeletFleet(ctx);
    const scheduler = new Scheduler(ctx, fleet);
    fleet.start();
    scheduler.start();
    actors.push(scheduler, fleet);
    ctx.store.create(R.nodes, makeNode('a', { cpu: '64' }));
    ctx.store.create(R.nodes, makeNode('b'));
    await ctx.clock.advance(0);
    void fleet.restartNode('a', { downtimeMs: 60_000 });
    ctx.store.create(R.pods, makePod('p'));
    await ctx.clock.advance(0);
    expect(nodeOf(ctx, 'p')).toBe('b');
  });
});

describe('Scheduler bookkeeping kept by changes', () => {
  const ZONE = 'topology.kubernetes.io/zone';
  const HOSTNAME = 'kubernetes.io/hostname';
  const zoned = (name: string, zone: string) => makeNode(name, { labels: { [ZONE]: zone } });
  const editNode = (ctx: TestContext, name: string, edit: (node: KubeObject) => void) =>
    ctx.store.mutate(R.nodes, undefined, name, edit);
  // Pods of two shapes: one any schedulable node takes, one that needs a zone and tolerates the `gpu` taint
  // and whatever the `soon` taint's effect.
  const plain = makePod('plain');
  const picky = makePod('picky', {
    spec: {
      nodeSelector: { [ZONE]: 'z3' },
      tolerations: [
        { key: 'gpu', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'soon', operator: 'Exists' },
      ],
    },
  });
  const changes: Array<[string, (ctx: TestContext, fleet: KubeletFleet) => unknown]> = [
    [
      'a cordon',
      (ctx) =>
        editNode(ctx, 'b', (n) => {
          n.spec.unschedulable = true;
        }),
    ],
    [
      'a NoSchedule taint',
      (ctx) =>
        editNode(ctx, 'c', (n) => {
          n.spec.taints = [{ key: 'gpu', effect: 'NoSchedule' }];
        }),
    ],
    [
      'PreferNoSchedule taints',
      (ctx) =>
        editNode(ctx, 'd', (n) => {
          n.spec.taints = [
            { key: 'soon', effect: 'PreferNoSchedule' },
            { key: 'later', effect: 'PreferNoSchedule' },
          ];
        }),
    ],
    [
      'a node moved to another zone',
      (ctx) =>
        editNode(ctx, 'e', (n) => {
          n.metadata.labels = { ...n.metadata.labels, [ZONE]: 'z3' };
        }),
    ],
    [
      'a zone label removed',
      (ctx) =>
        editNode(ctx, 'f', (n) => {
          delete n.metadata.labels?.[ZONE];
        }),
    ],
    ['a kubelet down', (_ctx, fleet) => void fleet.restartNode('a', { downtimeMs: 30_000 })],
    ['a node deleted', (ctx) => ctx.store.remove(R.nodes, undefined, 'c')],
    ['a node of that name back, elsewhere', (ctx) => ctx.store.create(R.nodes, zoned('c', 'z1'))],
    ['a new node', (ctx) => ctx.store.create(R.nodes, zoned('g', 'z3'))],
    ['the kubelet back after its reboot', (ctx) => ctx.clock.advance(40_000)],
    [
      'an uncordon',
      (ctx) =>
        editNode(ctx, 'b', (n) => {
          delete n.spec.unschedulable;
        }),
    ],
    [
      'a PreferNoSchedule taint gone',
      (ctx) =>
        editNode(ctx, 'd', (n) => {
          n.spec.taints = [{ key: 'soon', effect: 'PreferNoSchedule' }];
        }),
    ],
    [
      'a label change that keeps the zone',
      (ctx) =>
        editNode(ctx, 'e', (n) => {
          n.metadata.labels = { ...n.metadata.labels, tier: 'x' };
        }),
    ],
  ];

  it('keeps candidates and topology domains as a fresh scheduler computes them, after each of a series of changes', async () => {
    const ctx = testContext();
    const fleet = new KubeletFleet(ctx);
    const scheduler = new Scheduler(ctx, fleet);
    fleet.start();
    scheduler.start();
    actors.push(scheduler, fleet);
    for (const [i, name] of ['a', 'b', 'c', 'd', 'e', 'f'].entries())
      ctx.store.create(R.nodes, zoned(name, `z${(i % 3) + 1}`));
    await ctx.clock.advance(0);
    const keys = [ZONE, HOSTNAME];
    // Asked once before the changes, so that the scheduler has the shapes and domains to keep.
    const before = scheduler.shapeView(plain, keys);
    expect(before.candidates).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(before.domains[ZONE]).toEqual({ z1: 2, z2: 2, z3: 2 });
    expect(scheduler.shapeView(picky, keys).candidates).toEqual(['c', 'f']);

    for (const [change, apply] of changes) {
      await apply(ctx, fleet);
      await ctx.clock.advance(0);
      const fresh = new Scheduler(ctx, fleet);
      fresh.start();
      for (const pod of [plain, picky])
        expect(scheduler.shapeView(pod, keys), `${pod.metadata.name} after ${change}`).toEqual(
          fresh.shapeView(pod, keys),
        );
      fresh.stop();
    }
    // The series did move nodes in and out: the end state differs from the start.
    expect(scheduler.shapeView(plain, keys).candidates).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(scheduler.shapeView(plain, keys).domains[ZONE]).toEqual({ z1: 3, z2: 1, z3: 2 });
    expect(scheduler.shapeView(picky, keys).candidates).toEqual(['e', 'g']);
    expect(scheduler.shapeView(plain, keys).untoleratedPreferNoSchedule.d).toBe(1);
    expect(scheduler.shapeView(picky, keys).untoleratedPreferNoSchedule.d).toBe(0);
  });
});

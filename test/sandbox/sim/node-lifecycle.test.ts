import { afterEach, describe, expect, it } from 'vitest';
import { R } from '../../../src/sandbox/api/resources.ts';
import { KubeletFleet } from '../../../src/sandbox/sim/kubelet-fleet.ts';
import { NodeLifecycle } from '../../../src/sandbox/sim/node-lifecycle.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';
import { condition, makeNode, makePod, type TestContext, testContext } from './context.ts';

const actors: Array<{ stop(): void }> = [];
afterEach(() => {
  for (const actor of actors.splice(0)) actor.stop();
});

async function cluster(): Promise<{ ctx: TestContext; fleet: KubeletFleet }> {
  const ctx = testContext({ nodeMonitorGraceMs: 40_000 });
  const fleet = new KubeletFleet(ctx);
  const lifecycle = new NodeLifecycle(ctx, fleet);
  fleet.start();
  lifecycle.start();
  actors.push(lifecycle, fleet);
  ctx.store.create(R.nodes, makeNode('a'));
  await ctx.clock.advance(0);
  return { ctx, fleet };
}

const node = (ctx: TestContext) => ctx.store.get(R.nodes, undefined, 'a');
const taintKeys = (n: KubeObject | undefined) =>
  ((n?.spec.taints ?? []) as Array<{ key: string; effect: string }>)
    .map((t) => `${t.key}:${t.effect}`)
    .sort();

describe('NodeLifecycle', () => {
  it('mirrors spec.unschedulable as the unschedulable taint, with timeAdded', async () => {
    const { ctx } = await cluster();
    ctx.store.mutate(R.nodes, undefined, 'a', (n) => {
      n.spec.unschedulable = true;
    });
    await ctx.clock.advance(0);
    expect(node(ctx)?.spec.taints).toEqual([
      { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: expect.any(String) },
    ]);
    ctx.store.mutate(R.nodes, undefined, 'a', (n) => {
      delete n.spec.unschedulable;
    });
    await ctx.clock.advance(0);
    expect(node(ctx)?.spec.taints).toBeUndefined();
  });

  it('keeps taints it does not manage', async () => {
    const { ctx } = await cluster();
    ctx.store.mutate(R.nodes, undefined, 'a', (n) => {
      n.spec.taints = [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }];
      n.spec.unschedulable = true;
    });
    await ctx.clock.advance(0);
    expect(taintKeys(node(ctx))).toEqual([
      'dedicated:NoSchedule',
      'node.kubernetes.io/unschedulable:NoSchedule',
    ]);
  });

  it('taints a restarting node not-ready, then unreachable with Unknown conditions after the grace period', async () => {
    const { ctx, fleet } = await cluster();
    ctx.store.create(R.pods, makePod('web', { nodeName: 'a' }));
    await ctx.clock.advance(10_000);
    void fleet.restartNode('a', { kubeletVersion: 'v1.30.0', downtimeMs: 120_000 });
    await ctx.clock.advance(0);
    expect(taintKeys(node(ctx))).toEqual([
      'node.kubernetes.io/not-ready:NoExecute',
      'node.kubernetes.io/not-ready:NoSchedule',
    ]);
    await ctx.clock.advance(40_000);
    expect(condition(node(ctx), 'Ready')).toMatchObject({
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
    });
    expect(condition(node(ctx), 'MemoryPressure')?.status).toBe('Unknown');
    expect(taintKeys(node(ctx))).toEqual([
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/unreachable:NoSchedule',
    ]);
    expect(condition(ctx.store.get(R.pods, 'default', 'web'), 'Ready')?.status).toBe('False');
    await ctx.clock.advance(80_000);
    expect(condition(node(ctx), 'Ready')?.status).toBe('True');
    expect(node(ctx)?.spec.taints).toBeUndefined();
    expect(node(ctx)?.status.nodeInfo.kubeletVersion).toBe('v1.30.0');
  });

  it('leaves a node that never comes back unreachable', async () => {
    const { ctx, fleet } = await cluster();
    await fleet.restartNode('a', { kubeletVersion: 'v1.30.0', downtimeMs: 1_000, comesBack: false });
    await ctx.clock.advance(600_000);
    expect(condition(node(ctx), 'Ready')?.status).toBe('Unknown');
    expect(taintKeys(node(ctx))).toContain('node.kubernetes.io/unreachable:NoExecute');
  });

  it('evicts pods from an unreachable node after their toleration seconds; DaemonSet pods stay', async () => {
    const { ctx, fleet } = await cluster();
    ctx.store.create(R.pods, makePod('web', { nodeName: 'a' }));
    ctx.store.create(
      R.pods,
      makePod('quick', {
        nodeName: 'a',
        spec: {
          tolerations: [
            {
              key: 'node.kubernetes.io/unreachable',
              operator: 'Exists',
              effect: 'NoExecute',
              tolerationSeconds: 10,
            },
          ],
        },
      }),
    );
    ctx.store.create(
      R.pods,
      makePod('agent', {
        nodeName: 'a',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'ds', controller: true },
        ],
      }),
    );
    await ctx.clock.advance(10_000);
    await fleet.restartNode('a', { downtimeMs: 0, comesBack: false });
    await ctx.clock.advance(40_000 + 10_000);
    const quick = ctx.store.get(R.pods, 'default', 'quick');
    expect(quick?.metadata.deletionTimestamp).toBeDefined();
    expect(condition(quick, 'DisruptionTarget')).toMatchObject({
      status: 'True',
      reason: 'DeletionByTaintManager',
    });
    expect(ctx.store.get(R.pods, 'default', 'web')?.metadata.deletionTimestamp).toBeUndefined();
    await ctx.clock.advance(300_000);
    expect(ctx.store.get(R.pods, 'default', 'web')?.metadata.deletionTimestamp).toBeDefined();
    expect(ctx.store.get(R.pods, 'default', 'agent')?.metadata.deletionTimestamp).toBeUndefined();
    expect(ctx.store.list(R.events).filter((e) => e.reason === 'TaintManagerEviction')).toHaveLength(2);
  });

  it('evicts at once a pod that does not tolerate a NoExecute taint added by hand', async () => {
    const { ctx } = await cluster();
    ctx.store.create(R.pods, makePod('web', { nodeName: 'a' }));
    await ctx.clock.advance(10_000);
    ctx.store.mutate(R.nodes, undefined, 'a', (n) => {
      n.spec.taints = [{ key: 'maintenance', effect: 'NoExecute' }];
    });
    await ctx.clock.advance(0);
    expect(ctx.store.get(R.pods, 'default', 'web')?.metadata.deletionTimestamp).toBeDefined();
    await ctx.clock.advance(1_000);
    expect(ctx.store.get(R.pods, 'default', 'web')).toBeUndefined();
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { R } from '../../../src/sandbox/api/resources.ts';
import { GarbageCollector } from '../../../src/sandbox/sim/garbage-collector.ts';
import type { KubeObject } from '../../../src/sandbox/store/types.ts';
import { makePod, type TestContext, testContext } from './context.ts';

let gc: GarbageCollector | undefined;
afterEach(() => gc?.stop());

function start(): TestContext {
  const ctx = testContext();
  gc = new GarbageCollector(ctx);
  gc.start();
  return ctx;
}

const replicaSet = (name: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name, namespace: 'default' },
  spec: { replicas: 1 },
});

const ownedBy = (...owners: KubeObject[]) =>
  owners.map((o) => ({
    apiVersion: o.apiVersion ?? '',
    kind: o.kind ?? '',
    name: o.metadata.name ?? '',
    uid: o.metadata.uid ?? '',
    controller: true,
  }));

describe('GarbageCollector', () => {
  it('deletes the dependents of a deleted owner, and only those', async () => {
    const ctx = start();
    const rs = ctx.store.create(R.replicasets, replicaSet('web'));
    const other = ctx.store.create(R.replicasets, replicaSet('other'));
    ctx.store.create(R.pods, makePod('web-1', { ownerReferences: ownedBy(rs) }));
    ctx.store.create(R.pods, makePod('web-2', { ownerReferences: ownedBy(rs) }));
    ctx.store.create(R.pods, makePod('other-1', { ownerReferences: ownedBy(other) }));
    await ctx.clock.advance(0);
    expect(ctx.store.count(R.pods)).toBe(3);
    ctx.store.remove(R.replicasets, 'default', 'web');
    await ctx.clock.advance(0);
    expect(ctx.store.list(R.pods).map((p) => p.metadata.name)).toEqual(['other-1']);
  });

  it('deletes an object created with an owner that no longer exists', async () => {
    const ctx = start();
    const orphan = makePod('orphan', {
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'gone', uid: 'gone-uid', controller: true },
      ],
    });
    ctx.store.create(R.pods, orphan);
    await ctx.clock.advance(0);
    expect(ctx.store.get(R.pods, 'default', 'orphan')).toBeUndefined();
  });

  it('drops the reference to a missing owner when another owner is alive', async () => {
    const ctx = start();
    const a = ctx.store.create(R.replicasets, replicaSet('a'));
    const b = ctx.store.create(R.replicasets, replicaSet('b'));
    ctx.store.create(R.pods, makePod('shared', { ownerReferences: ownedBy(a, b) }));
    ctx.store.remove(R.replicasets, 'default', 'a');
    await ctx.clock.advance(0);
    expect(ctx.store.get(R.pods, 'default', 'shared')?.metadata.ownerReferences?.map((r) => r.name)).toEqual([
      'b',
    ]);
  });

  it('deletes a bound pod gracefully, leaving it to its kubelet', async () => {
    const ctx = start();
    const rs = ctx.store.create(R.replicasets, replicaSet('web'));
    ctx.store.create(R.pods, makePod('web-1', { nodeName: 'n1', ownerReferences: ownedBy(rs) }));
    ctx.store.remove(R.replicasets, 'default', 'web');
    await ctx.clock.advance(0);
    expect(ctx.store.get(R.pods, 'default', 'web-1')?.metadata.deletionTimestamp).toBeDefined();
  });
});

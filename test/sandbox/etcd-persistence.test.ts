import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/index.ts';
import { type EtcdClient, type EtcdProcess, startEtcd } from '../../src/etcd/index.ts';
import { startInProcess } from '../../src/sandbox/in-process.ts';
import { parseScenario } from '../../src/sandbox/scenario/parse-scenario.ts';
import { StatusError } from '../../src/sandbox/status.ts';
import { EtcdPersistence } from '../../src/sandbox/store/etcd-persistence.ts';
import { ObjectStore } from '../../src/sandbox/store/object-store.ts';
import type { KubeObject } from '../../src/sandbox/store/types.ts';
import { requireBinary } from '../e2e/etcd-harness.ts';

const hasEtcd = requireBinary('etcd', 'etcd-server');

function configMap(name: string, data: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data };
}

/** Every object of the store against its key in etcd: the key's mod_revision must be its resourceVersion. */
async function mismatches(store: ObjectStore, client: EtcdClient, prefix: string): Promise<string[]> {
  const { kvs } = await client.range(prefix, { prefix: true });
  const inEtcd = new Map(kvs.map((kv) => [kv.key, kv.modRevision]));
  const wrong: string[] = [];
  for (const obj of store.list('configmaps')) {
    const key = `${prefix}${obj.metadata.name}`;
    if (inEtcd.get(key) !== Number(obj.metadata.resourceVersion))
      wrong.push(`${key}: etcd ${inEtcd.get(key)}, store ${obj.metadata.resourceVersion}`);
  }
  return wrong;
}

/**
 * A store on the test's etcd, as the sandbox starts one: what etcd holds is loaded; an empty etcd gets
 * the configmaps `names`, seeded.
 */
async function persistedStore(etcd: EtcdProcess, names: string[], options = {}) {
  const store = new ObjectStore(new VirtualClock());
  const persistence = new EtcdPersistence({ client: etcd.client(), seedBatchOps: 3, ...options });
  if ((await persistence.load(store)).objects === 0) {
    for (const name of names) store.create('configmaps', configMap(name));
    await persistence.seed(store);
  }
  persistence.attach(store);
  return { store, persistence };
}

describe.skipIf(!hasEtcd)('the object store written through to a real etcd', () => {
  let dir: string;
  let etcd: EtcdProcess;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midflight-etcd-persistence-'));
    etcd = await startEtcd({ name: 'persistence', dataDir: join(dir, 'etcd') });
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('seeds in batches and then writes each change at the revision it was given, as a reload shows', async () => {
    const client = etcd.client();
    const names = Array.from({ length: 10 }, (_, i) => `seeded-${i}`);
    const { store, persistence } = await persistedStore(etcd, names);
    // Ten objects in transactions of three: four revisions, the objects of one transaction sharing one.
    const revisions = new Set(store.list('configmaps').map((o) => o.metadata.resourceVersion));
    expect(revisions.size).toBe(4);
    expect(store.resourceVersion).toBe((await client.status()).revision);
    expect(await mismatches(store, client, '/registry/configmaps/default/')).toEqual([]);

    store.mutate('configmaps', 'default', 'seeded-1', (d) => {
      d.data = { changed: 'yes' };
    });
    store.remove('configmaps', 'default', 'seeded-2');
    const created = store.create('configmaps', configMap('created'));
    await persistence.flush();
    expect((await client.status()).revision).toBe(Number(created.metadata.resourceVersion));
    expect(await mismatches(store, client, '/registry/configmaps/default/')).toEqual([]);
    expect((await client.range('/registry/configmaps/default/seeded-2')).kvs).toEqual([]);

    // A second store on the same etcd loads what the first one left, at the same resourceVersions.
    const reloaded = new ObjectStore(new VirtualClock());
    const loaded = await new EtcdPersistence({ client, loadPageSize: 4 }).load(reloaded);
    expect(loaded).toEqual({ objects: 10, revision: store.resourceVersion });
    expect(reloaded.resourceVersion).toBe(store.resourceVersion);
    expect(reloaded.list('configmaps')).toEqual(store.list('configmaps'));
    // Nothing to resume from below the loaded revision.
    expect(() =>
      reloaded.watch('configmaps', { fromResourceVersion: store.resourceVersion - 1 }, () => {}),
    ).toThrow(/too old resource version/);
  }, 60_000);

  it('fails loudly, and takes no more writes, when another client changed a key behind its back', async () => {
    const client = etcd.client();
    const { store, persistence } = await persistedStore(etcd, []);
    const failures: Error[] = [];
    persistence.onFailure((err) => failures.push(err));
    store.create('configmaps', configMap('mine'));
    await persistence.flush();
    await client.put('/registry/configmaps/default/mine', '{"changed":"by someone else"}');

    store.mutate('configmaps', 'default', 'mine', (d) => {
      d.data = { v: '2' };
    });
    await expect(persistence.flush()).rejects.toThrow(
      /write \/registry\/configmaps\/default\/mine: the key is not as the sandbox left it \(last written at revision \d+\); another client changed it/,
    );
    expect(failures).toHaveLength(1);
    expect(() => store.create('configmaps', configMap('refused'))).toThrow(StatusError);
    expect(() => store.create('configmaps', configMap('refused'))).toThrow(/storage failed/);
  }, 60_000);

  it('fails when more writes wait for etcd than it may queue, instead of growing without bound', async () => {
    // The foreign value the case before wrote is no object: loading refuses it, naming the key.
    await expect(persistedStore(etcd, [])).rejects.toThrow(
      /load \/registry\/configmaps\/default\/mine: the value is not a Kubernetes object/,
    );
    await etcd.client().txn([], [{ delete: '/registry/configmaps/default/mine' }]);
    const { store, persistence } = await persistedStore(etcd, [], { maxPendingWrites: 2 });
    for (let i = 0; i < 3; i++) store.create('configmaps', configMap(`burst-${i}`));
    expect(persistence.failure?.message).toMatch(/3 writes wait for etcd, which commits them one at a time/);
    await expect(persistence.flush()).rejects.toThrow(/writes wait for etcd/);
  }, 60_000);
});

const SMALL = parseScenario(
  `name: small-on-etcd
kubernetesVersion: v1.31.4
controlPlane: { nodes: 1 }
nodePools: [{ name: general, count: 2, capacity: { cpu: "4", memory: 16Gi } }]
workloads:
  - { name: web, namespace: shop, kind: Deployment, replicas: 3, requests: { cpu: 100m, memory: 64Mi } }
`,
  'small-on-etcd.yaml',
);

describe.skipIf(!hasEtcd)('an in-process sandbox on a virtual clock, on a real etcd', () => {
  let dir: string;
  let etcd: EtcdProcess;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midflight-etcd-in-process-'));
    etcd = await startEtcd({ name: 'in-process', dataDir: join(dir, 'etcd') });
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('settles with etcd in step, and a second start loads the cluster the first one left', async () => {
    const client = etcd.client();
    const first = await startInProcess(SMALL, { etcd: { endpoint: etcd.clientUrl } });
    try {
      expect(first.sandbox.storage).toMatchObject({ etcd: etcd.clientUrl, loaded: false });
      // Simulated time waits for etcd: a minute of it later, etcd holds every write once flushed.
      await first.clock.sleep(60_000);
      await first.sandbox.flushStorage();
      const { store } = first.sandbox.ctx;
      expect((await client.status()).revision).toBeGreaterThanOrEqual(store.resourceVersion);
    } finally {
      await first.stop();
    }
    // Stopped: etcd holds every write, and nothing else.
    const revision = first.sandbox.ctx.store.resourceVersion;
    expect((await client.status()).revision).toBe(revision);

    const second = await startInProcess(SMALL, { etcd: { endpoint: etcd.clientUrl } });
    try {
      expect(second.sandbox.storage).toMatchObject({ loaded: true, revision });
      expect(second.sandbox.ctx.store.list('pods', 'shop')).toHaveLength(3);
    } finally {
      await second.stop();
    }
  }, 120_000);
});

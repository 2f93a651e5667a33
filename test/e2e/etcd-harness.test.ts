import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdCluster, requireBinary, startEtcdCluster } from './etcd-harness.ts';

describe.skipIf(!requireBinary('etcd', 'etcd-server'))('a real 3-member etcd on loopback', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcdCluster({ members: 3 });
  }, 120_000);
  afterAll(() => cluster?.stop(), 60_000);

  it('elects one leader that every member names', async () => {
    const statuses = await Promise.all(cluster.names.map((n) => cluster.client(n).status()));
    expect(new Set(statuses.map((s) => s.leader)).size).toBe(1);
    expect(statuses.filter((s) => s.isLeader)).toHaveLength(1);
    expect(new Set(statuses.map((s) => s.clusterId)).size).toBe(1);
    expect(await cluster.client('etcd-0').memberList()).toHaveLength(3);
    expect(cluster.names).toContain(await cluster.leader());
  });

  it('serves on one member what was written on another', async () => {
    await cluster.client('etcd-0').put('/harness/a', 'one');
    const read = await cluster.client('etcd-2').range('/harness/a');
    expect(read.kvs.map((kv) => kv.value)).toEqual(['one']);
  });

  it('takes back a stopped member, which then has what was written while it was down', async () => {
    await cluster.stop('etcd-1');
    await cluster.client('etcd-0').put('/harness/while-down', 'written');
    await cluster.start('etcd-1');
    // A linearizable read on the restarted member goes through the leader's commit index: it sees the write.
    const read = await cluster.client('etcd-1').range('/harness/', { prefix: true });
    expect(read.kvs.map((kv) => kv.key)).toEqual(['/harness/a', '/harness/while-down']);
    expect((await cluster.client('etcd-1').status()).leader).not.toBe('0');
  }, 120_000);

  it('takes back a killed member', async () => {
    await cluster.kill('etcd-2');
    await cluster.start('etcd-2');
    expect((await cluster.client('etcd-2').healthy()).healthy).toBe(true);
  }, 120_000);
});

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_KEYS, EtcdClient, EtcdError, freeLoopbackPort } from '../../src/etcd/index.ts';
import { type EtcdCluster, requireBinary, startEtcdCluster } from '../e2e/etcd-harness.ts';

describe.skipIf(!requireBinary('etcd', 'etcd-server'))(
  'the etcd client, against a real 3-member etcd',
  () => {
    let cluster: EtcdCluster;
    beforeAll(async () => {
      cluster = await startEtcdCluster({ members: 3 });
    }, 120_000);
    afterAll(() => cluster?.stop(), 60_000);

    it('reads a member status: leader, raft index, database size, version, its own id', async () => {
      const status = await cluster.client('etcd-0').status();
      const ids = (await cluster.client('etcd-0').memberList()).map((m) => m.id);
      expect(ids).toContain(status.memberId);
      expect(ids).toContain(status.leader);
      expect(status.version).toMatch(/^3\.\d+\.\d+/);
      expect(status.raftIndex).toBeGreaterThan(0);
      expect(status.dbSize).toBeGreaterThan(0);
      expect(status.clusterId).toMatch(/^\d+$/);
    });

    it('puts, reads a prefix, and counts without reading keys', async () => {
      const client = cluster.client('etcd-1');
      for (const k of ['a', 'b', 'c']) await client.put(`/count/${k}`, `value-${k}`);
      await client.put('/countx', 'outside the prefix');
      const prefix = await client.range('/count/', { prefix: true });
      expect(prefix.kvs.map((kv) => [kv.key, kv.value])).toEqual([
        ['/count/a', 'value-a'],
        ['/count/b', 'value-b'],
        ['/count/c', 'value-c'],
      ]);
      const counted = await client.range('/count/', { prefix: true, countOnly: true });
      expect(counted.count).toBe(3);
      expect(counted.kvs).toEqual([]);
      const all = await client.range(ALL_KEYS.key, { rangeEnd: ALL_KEYS.rangeEnd, countOnly: true });
      expect(all.count).toBeGreaterThanOrEqual(4);
      // Nothing was written since the prefix read.
      expect(all.revision).toBe(prefix.revision);
    });

    it('moves leadership to another member, and a follower asked to do it says why not', async () => {
      const leaderName = await cluster.leader();
      const members = await cluster.client(leaderName).memberList();
      const target = members.find((m) => m.name !== leaderName)!;
      const follower = members.find((m) => m.name !== leaderName && m.id !== target.id)!;
      await expect(cluster.client(follower.name).transferLeadership(target.id)).rejects.toThrow(/not leader/);
      await cluster.client(leaderName).transferLeadership(target.id);
      expect(await cluster.leader()).toBe(target.name);
    }, 60_000);

    it('streams a snapshot whose last 32 bytes are the SHA-256 of what comes before', async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of cluster.client('etcd-2').snapshot()) chunks.push(chunk);
      const snapshot = Buffer.concat(chunks);
      const body = snapshot.subarray(0, snapshot.length - 32);
      expect(createHash('sha256').update(body).digest().equals(snapshot.subarray(-32))).toBe(true);
      // A bolt database: the magic number of its meta page.
      expect(body.readUInt32LE(16)).toBe(0xed0cdaed);
    });

    it('says which endpoint failed and what it was doing, and that asking again may help', async () => {
      const endpoint = `http://127.0.0.1:${await freeLoopbackPort()}`;
      const error = await new EtcdClient({ endpoint }).status().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EtcdError);
      expect((error as EtcdError).message).toContain(endpoint);
      expect((error as EtcdError).message).toContain('read the member status');
      expect((error as EtcdError).retryable).toBe(true);
      expect((await new EtcdClient({ endpoint }).healthy()).healthy).toBe(false);
    });

    it('names a TLS file it cannot read, before any request', () => {
      expect(
        () => new EtcdClient({ endpoint: 'https://127.0.0.1:2379', tls: { cacert: '/nonexistent/ca.crt' } }),
      ).toThrow(/https:\/\/127\.0\.0\.1:2379: set up TLS: cannot read \/nonexistent\/ca\.crt/);
      expect(
        () => new EtcdClient({ endpoint: 'https://127.0.0.1:2379', tls: { cert: '/x/client.crt' } }),
      ).toThrow(/give both --cert and --key/);
    });
  },
);

import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackupError,
  drillBackup,
  listBackups,
  pruneBackups,
  readMetadata,
  restoreBackup,
  saveBackup,
  verifyBackup,
} from '../../src/backup/index.ts';
import { RealClock } from '../../src/core/index.ts';
import { ALL_KEYS, startEtcd } from '../../src/etcd/index.ts';
import { type EtcdCluster, requireBinary, startEtcdCluster } from '../e2e/etcd-harness.ts';

const hasEtcd = requireBinary('etcd', 'etcd-server') && requireBinary('etcdctl', 'etcd-client');
const clock = new RealClock();

describe.skipIf(!hasEtcd)('etcd backups against a real 3-member etcd', () => {
  let cluster: EtcdCluster;
  let dir: string;
  let saved: Awaited<ReturnType<typeof saveBackup>>;
  beforeAll(async () => {
    cluster = await startEtcdCluster({ members: 3 });
    dir = mkdtempSync(join(tmpdir(), 'midflight-backup-test-'));
    const client = cluster.client('etcd-0');
    for (let i = 0; i < 20; i++)
      await client.put(`/registry/pods/default/pod-${String(i).padStart(2, '0')}`, `{"i":${i}}`);
    saved = await saveBackup({
      endpoints: cluster.endpoints,
      dir: join(dir, 'backups'),
      clock,
      runId: 'run-1',
    });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('saves a snapshot with its metadata, and no temp file left behind', async () => {
    const status = await cluster.client('etcd-0').status();
    expect(readdirSync(join(dir, 'backups')).sort()).toEqual([
      `${saved.metadata.file}`,
      `${saved.metadata.file}.json`,
    ]);
    expect(saved.metadata).toMatchObject({
      clusterId: status.clusterId,
      member: { name: 'etcd-0', endpoint: cluster.endpoints[0] },
      runId: 'run-1',
      keys: 20,
      etcdVersion: status.version,
    });
    expect(saved.metadata.revision).toBeGreaterThanOrEqual(21);
    expect(saved.metadata.size).toBe(readFileSync(saved.file).length);
    expect(readMetadata(saved.file)).toEqual(saved.metadata);
  });

  it('verifies a whole snapshot: its own hash, its metadata, and etcdctl reading it', async () => {
    const verified = await verifyBackup({ file: saved.file, record: { clock } });
    expect(verified.problems).toEqual([]);
    expect(verified.ok).toBe(true);
    expect(verified.status?.revision).toBeGreaterThanOrEqual(saved.metadata.revision);
    expect(readMetadata(saved.file)?.verifiedAt).toBeDefined();
  });

  it.each([
    {
      damage: 'one byte altered in the middle',
      apply: (f: string) => {
        const bytes = readFileSync(f);
        bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
        writeFileSync(f, bytes);
      },
      reasons: [/integrity hash does not match/, /SHA-256 differs from the one its metadata recorded/],
    },
    {
      damage: 'the last 100 bytes cut off',
      apply: (f: string) => truncateSync(f, readFileSync(f).length - 100),
      reasons: [/integrity hash does not match/, /truncated since it was saved/],
    },
    {
      damage: 'cut to half',
      apply: (f: string) => truncateSync(f, Math.floor(readFileSync(f).length / 2)),
      reasons: [/integrity hash does not match/, /meta page says \d+ pages/, /truncated since it was saved/],
    },
  ])('rejects a snapshot with $damage, saying why', async ({ apply, reasons }) => {
    const copy = join(dir, `damaged-${Math.random().toString(36).slice(2)}.db`);
    copyFileSync(saved.file, copy);
    copyFileSync(`${saved.file}.json`, `${copy}.json`);
    apply(copy);
    const verified = await verifyBackup({ file: copy });
    expect(verified.ok).toBe(false);
    for (const reason of reasons) expect(verified.problems.join('\n')).toMatch(reason);
    await expect(drillBackup({ file: copy, clock })).rejects.toThrow(
      /not drilled: the snapshot does not verify/,
    );
    await expect(restoreBackup({ file: copy, dataDir: join(dir, 'never') })).rejects.toThrow(BackupError);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('drills: restores into a scratch etcd, reads it back, and leaves nothing running or behind', async () => {
    const work = join(dir, 'drill-work');
    mkdirSync(work);
    const report = await drillBackup({ file: saved.file, clock, workDir: work, record: true, sampleSize: 3 });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.keys).toBe(20);
    expect(report.revision).toBeGreaterThanOrEqual(saved.metadata.revision);
    expect(report.sampleKeys).toEqual([
      '/registry/pods/default/pod-00',
      '/registry/pods/default/pod-01',
      '/registry/pods/default/pod-02',
    ]);
    expect(report.restoreMs).toBeGreaterThanOrEqual(0);
    expect(readdirSync(work)).toEqual([]);
    expect(readMetadata(saved.file)?.drilledAt).toBeDefined();
  }, 120_000);

  it('restores into a new data directory that a member then serves, and refuses a directory in use', async () => {
    const dataDir = join(dir, 'restored');
    const restored = await restoreBackup({
      file: saved.file,
      dataDir,
      name: 'restored',
      initialAdvertisePeerUrls: 'http://127.0.0.1:1',
    });
    expect(restored.revision).toBeGreaterThanOrEqual(saved.metadata.revision);
    await expect(restoreBackup({ file: saved.file, dataDir })).rejects.toThrow(
      /the data directory is not empty/,
    );
    // Note: the peer URL restore recorded is only a name in the membership: a lone member never dials it.
    const member = await startEtcd({ name: 'restored', dataDir, extraArgs: [] });
    try {
      const read = await member.client().range(ALL_KEYS.key, { rangeEnd: ALL_KEYS.rangeEnd });
      expect(read.kvs).toHaveLength(20);
      expect(read.kvs[7]).toMatchObject({ key: '/registry/pods/default/pod-07', value: '{"i":7}' });
    } finally {
      await member.stop();
    }
  }, 120_000);

  it('lists snapshots newest first and prunes by count, never the newest', async () => {
    const catalog = join(dir, 'catalog');
    const second = await saveBackup({ endpoints: cluster.endpoints.slice(1), dir: catalog, clock });
    await cluster.client('etcd-0').put('/after', 'x');
    const third = await saveBackup({ endpoints: cluster.endpoints, dir: catalog, clock });
    expect(listBackups(catalog).map((e) => e.file)).toEqual([third.file, second.file]);
    expect(second.metadata.member.name).toBe('etcd-1');
    expect(pruneBackups(catalog, { keepLast: 1 }, clock.now()).map((e) => e.file)).toEqual([second.file]);
    expect(readdirSync(catalog).sort()).toEqual([third.metadata.file, `${third.metadata.file}.json`]);
    expect(pruneBackups(catalog, { maxAgeMs: 0 }, clock.now() + 60_000)).toEqual([]);
  }, 60_000);

  it('names every endpoint that could not give a snapshot', async () => {
    await expect(
      saveBackup({ endpoints: ['http://127.0.0.1:1'], dir: join(dir, 'none'), clock }),
    ).rejects.toThrow(
      /no etcd member could give a snapshot: etcd http:\/\/127\.0\.0\.1:1: read the member status/,
    );
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });
});

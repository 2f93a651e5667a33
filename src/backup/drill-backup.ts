/**
 * `backup drill`: the test restore every runbook asks for and few teams do. The snapshot is verified,
 * restored with `etcdctl snapshot restore` into a temp data directory, served by a scratch etcd on free
 * loopback ports, read back (revision, key count, a sample of keys), then the scratch etcd is stopped and
 * everything it used removed, whatever happened.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../core/index.ts';
import {
  ALL_KEYS,
  DEFAULT_ETCD_BINARY,
  DEFAULT_ETCDCTL_BINARY,
  type EtcdProcess,
  freeLoopbackPort,
  runEtcdctl,
  startEtcd,
} from '../etcd/index.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { BackupError } from './backup-error.ts';
import { metadataPathOf } from './backup-metadata.ts';
import { STORE_SNAPSHOT_EXT } from './store-backup.ts';
import { requireVerifiedBackup } from './verify-backup.ts';

export interface DrillBackupOptions {
  file: string;
  clock: Clock;
  /** Default /usr/bin/etcd. */
  etcd?: string;
  /** Default /usr/bin/etcdctl. */
  etcdctl?: string;
  /** How many keys to read back by name. Default 5. */
  sampleSize?: number;
  /** Where the temp data directory goes. Default the system's temp directory. */
  workDir?: string;
  /** Write `drilledAt` into the metadata when the drill passes. */
  record?: boolean;
}

export interface DrillReport {
  file: string;
  ok: boolean;
  problems: string[];
  /** What the restored etcd serves. */
  revision: number;
  keys: number;
  sampleKeys: string[];
  /** Clock ms: etcdctl snapshot restore; the scratch etcd until healthy; the whole drill. */
  restoreMs: number;
  startMs: number;
  totalMs: number;
}

export async function drillBackup(options: DrillBackupOptions): Promise<DrillReport> {
  const { clock, file } = options;
  const started = clock.now();
  if (file.endsWith(STORE_SNAPSHOT_EXT))
    throw new BackupError(
      file,
      "a sandbox store snapshot is drilled by a sandbox (the run's backup phase does it), not by etcd",
    );
  const etcdctl = options.etcdctl ?? DEFAULT_ETCDCTL_BINARY;
  const verified = await requireVerifiedBackup({ file, etcdctl }, 'drilled');
  const work = mkdtempSync(join(options.workDir ?? tmpdir(), 'midflight-drill-'));
  let member: EtcdProcess | undefined;
  try {
    const dataDir = join(work, 'data');
    const peerPort = await freeLoopbackPort();
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const restoreStarted = clock.now();
    // Note: restore writes the scratch member's peer URL into the restored membership, so the peer port
    // is chosen first and etcd started on that same port.
    await runEtcdctl({
      binary: etcdctl,
      args: [
        'snapshot',
        'restore',
        file,
        `--data-dir=${dataDir}`,
        '--name=drill',
        `--initial-cluster=drill=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        '--initial-cluster-token=midflight-drill',
      ],
    }).catch((err: Error) => {
      throw new BackupError(file, `the restore failed: ${err.message}`);
    });
    const restored = clock.now();
    member = await startEtcd({
      binary: options.etcd ?? DEFAULT_ETCD_BINARY,
      name: 'drill',
      dataDir,
      peerPort,
      logFile: join(work, 'etcd.log'),
    }).catch((err: Error) => {
      throw new BackupError(file, `the restored data did not start in a scratch etcd: ${err.message}`);
    });
    const serving = clock.now();
    const client = member.client();
    const status = await client.status();
    const counted = await client.range(ALL_KEYS.key, { rangeEnd: ALL_KEYS.rangeEnd, countOnly: true });
    const sample = await client.range(ALL_KEYS.key, {
      rangeEnd: ALL_KEYS.rangeEnd,
      keysOnly: true,
      limit: options.sampleSize ?? 5,
    });
    const problems: string[] = [];
    const saved = verified.metadata;
    if (saved && status.revision < saved.revision)
      problems.push(
        `the restored store is at revision ${status.revision}, older than the ${saved.revision} recorded when it was saved`,
      );
    if (saved && saved.keys > 0 && counted.count === 0)
      problems.push(`the restored store is empty, but ${saved.keys} keys were recorded when it was saved`);
    const ok = problems.length === 0;
    if (ok && saved && options.record)
      writeFileAtomic(
        metadataPathOf(file),
        `${JSON.stringify({ ...saved, drilledAt: new Date(clock.now()).toISOString() }, null, 2)}\n`,
      );
    return {
      file,
      ok,
      problems,
      revision: status.revision,
      keys: counted.count,
      sampleKeys: sample.kvs.map((kv) => kv.key),
      restoreMs: restored - restoreStarted,
      startMs: serving - restored,
      totalMs: clock.now() - started,
    };
  } finally {
    await member?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * `backup save`: a v3 snapshot streamed from one member straight to disk, checked, committed atomically,
 * with its metadata beside it.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Clock } from '../core/index.ts';
import { ALL_KEYS, EtcdClient, type EtcdStatus, type EtcdTls } from '../etcd/index.ts';
import { commitTemp, streamToTemp, writeFileAtomic } from './atomic-file.ts';
import { BackupError } from './backup-error.ts';
import { type BackupMetadata, METADATA_FORMAT, metadataPathOf } from './backup-metadata.ts';
import { checkSnapshotIntegrity } from './snapshot-integrity.ts';

export interface SaveBackupOptions {
  /** Client URLs of the members; the snapshot comes from the first one that is healthy and has a leader. */
  endpoints: string[];
  tls?: EtcdTls;
  /** The directory the snapshot and its metadata go to; created when missing. */
  dir: string;
  clock: Clock;
  runId?: string;
  /** Wall-clock ms a call to etcd may take before its answer starts. Default 10 s. */
  timeoutMs?: number;
}

export interface SavedBackup {
  file: string;
  metadataFile: string;
  metadata: BackupMetadata;
  /** Clock ms from the first call to etcd to the committed files. */
  durationMs: number;
}

export async function saveBackup(options: SaveBackupOptions): Promise<SavedBackup> {
  if (options.endpoints.length === 0)
    throw new BackupError('backup save', 'no etcd endpoint given: pass --endpoints https://HOST:2379');
  const started = options.clock.now();
  const { client, status } = await chooseMember(options);
  const members = await client.memberList();
  const name = members.find((m) => m.id === status.memberId)?.name ?? '';
  // Revision and key count from one read: a consistent pair (the snapshot holds that revision or later).
  const counted = await client.range(ALL_KEYS.key, { rangeEnd: ALL_KEYS.rangeEnd, countOnly: true });
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const takenAt = new Date(options.clock.now());
  const file = uniqueBackupName(options.dir, takenAt, options.runId, 'etcd', '.db');
  const temp = await streamToTemp(file, client.snapshot());
  const integrity = await checkSnapshotIntegrity(temp);
  if (integrity.problems.length > 0) {
    rmSync(temp, { force: true });
    throw new BackupError(
      client.endpoint,
      `the snapshot it sent is damaged (${integrity.problems.join('; ')}); nothing was saved: try again, or another member`,
    );
  }
  const metadata: BackupMetadata = {
    format: METADATA_FORMAT,
    file: basename(file),
    takenAt: takenAt.toISOString(),
    clusterId: status.clusterId,
    member: { id: status.memberId, name, endpoint: client.endpoint },
    etcdVersion: status.version,
    revision: counted.revision,
    keys: counted.count,
    size: integrity.size,
    sha256: integrity.sha256,
    ...(options.runId ? { runId: options.runId } : {}),
  };
  // Note: the snapshot first, its metadata second: a metadata file always describes a complete snapshot.
  commitTemp(temp, file);
  writeFileAtomic(metadataPathOf(file), `${JSON.stringify(metadata, null, 2)}\n`);
  return { file, metadataFile: metadataPathOf(file), metadata, durationMs: options.clock.now() - started };
}

/** The first member that answers, has a leader and raises no alarm; else every member's reason. */
async function chooseMember(options: SaveBackupOptions): Promise<{ client: EtcdClient; status: EtcdStatus }> {
  const reasons: string[] = [];
  for (const endpoint of options.endpoints) {
    const client = new EtcdClient({
      endpoint,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    try {
      const status = await client.status();
      if (status.leader === '0') reasons.push(`${endpoint}: the member has no leader`);
      else if (status.errors.length > 0)
        reasons.push(`${endpoint}: the member reports ${status.errors.join(', ')}`);
      else return { client, status };
    } catch (err) {
      reasons.push((err as Error).message);
    }
  }
  throw new BackupError(
    'backup save',
    `no etcd member could give a snapshot: ${reasons.join('; ')}. Check --endpoints and the TLS files (--cacert, --cert, --key)`,
  );
}

/** `PREFIX-20261207T121400Z[-RUN]EXT`, with -2, -3… if a snapshot of that second is already there. */
export function uniqueBackupName(
  dir: string,
  at: Date,
  runId: string | undefined,
  prefix: string,
  ext: string,
): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const base = `${prefix}-${stamp}${runId ? `-${runId}` : ''}`;
  for (let n = 1; ; n++) {
    const candidate = join(dir, `${base}${n > 1 ? `-${n}` : ''}${ext}`);
    if (!existsSync(candidate) && !existsSync(metadataPathOf(candidate))) return candidate;
  }
}

/**
 * `backup verify`: is this file a whole, unaltered etcd snapshot that a restore will accept? Its own
 * integrity hash and bolt meta pages (snapshot-integrity.ts), the size and SHA-256 its metadata recorded
 * when it was saved, and `etcdctl snapshot status` reading the database through (when etcdctl is there).
 * Each failure is a reason in `problems`; an unreadable file is a BackupError.
 */
import { existsSync, statSync } from 'node:fs';
import type { Clock } from '../core/index.ts';
import { DEFAULT_ETCDCTL_BINARY, runEtcdctl } from '../etcd/index.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { BackupError } from './backup-error.ts';
import { type BackupMetadata, metadataPathOf, readMetadata } from './backup-metadata.ts';
import { checkSnapshotIntegrity } from './snapshot-integrity.ts';
import { STORE_SNAPSHOT_EXT, storeSnapshotProblems } from './store-backup.ts';

export interface VerifyBackupOptions {
  file: string;
  /** etcdctl to read the database through; false: do not. Default /usr/bin/etcdctl when it is there. */
  etcdctl?: string | false;
  /** Write `verifiedAt` into the metadata when the snapshot passes (needs `clock`). */
  record?: { clock: Clock };
}

/** What `etcdctl snapshot status` says of the database. */
export interface SnapshotStatus {
  /** etcd's own hash of the key-value content (crc32). */
  hash: number;
  revision: number;
  /** Keys in the database, every revision of each counted. */
  totalKey: number;
  totalSize: number;
}

export interface VerifiedBackup {
  file: string;
  ok: boolean;
  /** Why the snapshot is rejected, each as a sentence; empty when ok. */
  problems: string[];
  /** What was not checked, and why. */
  notes: string[];
  size: number;
  sha256: string;
  metadata?: BackupMetadata;
  status?: SnapshotStatus;
}

/** The snapshot, verified, before `action` ("drilled", "restored") uses it; a BackupError naming every problem if not. */
export async function requireVerifiedBackup(
  options: VerifyBackupOptions,
  action: string,
): Promise<VerifiedBackup> {
  const verified = await verifyBackup(options);
  if (!verified.ok)
    throw new BackupError(
      options.file,
      `not ${action}: the snapshot does not verify: ${verified.problems.join('; ')}`,
    );
  return verified;
}

export async function verifyBackup(options: VerifyBackupOptions): Promise<VerifiedBackup> {
  const { file } = options;
  if (!existsSync(file) || !statSync(file).isFile())
    throw new BackupError(
      file,
      'no such snapshot file: give the path of a .db file `backup save` wrote (see `backup list`)',
    );
  if (file.endsWith(STORE_SNAPSHOT_EXT)) return verifyStoreSnapshot(file, options);
  const integrity = await checkSnapshotIntegrity(file);
  const problems = [...integrity.problems];
  const notes: string[] = [];
  let metadata: BackupMetadata | undefined;
  try {
    metadata = readMetadata(file);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (metadata) {
    if (metadata.size !== integrity.size)
      problems.push(
        `the file is ${integrity.size} bytes but its metadata says ${metadata.size}: it was ${integrity.size < metadata.size ? 'truncated' : 'extended'} since it was saved`,
      );
    else if (metadata.sha256 !== integrity.sha256)
      problems.push(
        'its SHA-256 differs from the one its metadata recorded: the file changed since it was saved',
      );
  } else if (!existsSync(metadataPathOf(file)))
    notes.push(
      `no metadata beside it (${metadataPathOf(file)}): only the snapshot's own integrity was checked`,
    );
  let status: SnapshotStatus | undefined;
  const etcdctl = options.etcdctl ?? (existsSync(DEFAULT_ETCDCTL_BINARY) ? DEFAULT_ETCDCTL_BINARY : false);
  if (integrity.problems.length > 0) {
    // A damaged database is not handed to etcdctl: bolt may crash on it, and the reason is already known.
  } else if (etcdctl === false) {
    notes.push('etcdctl is not installed: the database was not read through (install etcd-client)');
  } else {
    try {
      const out = await runEtcdctl({
        binary: etcdctl,
        args: ['snapshot', 'status', file, '-w', 'json'],
        timeoutMs: 120_000,
      });
      status = JSON.parse(out) as SnapshotStatus;
    } catch (err) {
      problems.push(`etcdctl cannot read the database: ${(err as Error).message}`);
    }
  }
  const ok = problems.length === 0;
  if (ok && metadata && options.record) metadata = recordVerified(file, metadata, options.record.clock);
  return {
    file,
    ok,
    problems,
    notes,
    size: integrity.size,
    sha256: integrity.sha256,
    ...(metadata ? { metadata } : {}),
    ...(status ? { status } : {}),
  };
}

/** A sandbox store snapshot: its size, SHA-256 and object count against its metadata, and that it parses. */
function verifyStoreSnapshot(file: string, options: VerifyBackupOptions): VerifiedBackup {
  const problems: string[] = [];
  let metadata: BackupMetadata | undefined;
  try {
    metadata = readMetadata(file);
    if (!metadata)
      problems.push(
        `no metadata beside it (${metadataPathOf(file)}): a store snapshot is checked against it`,
      );
  } catch (err) {
    problems.push((err as Error).message);
  }
  problems.push(...storeSnapshotProblems(file, metadata));
  const ok = problems.length === 0;
  if (ok && metadata && options.record) metadata = recordVerified(file, metadata, options.record.clock);
  const size = statSync(file).size;
  return {
    file,
    ok,
    problems,
    notes: [],
    size,
    sha256: metadata?.sha256 ?? '',
    ...(metadata ? { metadata } : {}),
  };
}

function recordVerified(file: string, metadata: BackupMetadata, clock: Clock): BackupMetadata {
  const updated = { ...metadata, verifiedAt: new Date(clock.now()).toISOString() };
  writeFileAtomic(metadataPathOf(file), `${JSON.stringify(updated, null, 2)}\n`);
  return updated;
}

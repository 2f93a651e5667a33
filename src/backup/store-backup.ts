/**
 * Backups of a sandbox's in-memory store, through its admin API (docs/sandbox-admin-api.md): the same
 * save → verify → drill flow and the same metadata as an etcd snapshot, so `backup list|verify|prune`
 * treat both alike. The HTTP calls are the caller's (the engine holds the cluster's credentials): saving
 * takes the snapshot's text, drilling takes a function that sends it back to be loaded into a scratch store.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Clock } from '../core/index.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { BackupError } from './backup-error.ts';
import { type BackupMetadata, METADATA_FORMAT, metadataPathOf } from './backup-metadata.ts';
import type { DrillReport } from './drill-backup.ts';
import { uniqueBackupName } from './save-backup.ts';

export const STORE_SNAPSHOT_EXT = '.store.json';
const STORE_FORMAT = 'midflight.sandbox-store/v1';

export interface SaveStoreBackupOptions {
  dir: string;
  clock: Clock;
  runId?: string;
  /** The body of `GET /sandbox/v1/store/snapshot`. */
  snapshot: string;
  /** The sandbox's API server URL. */
  endpoint: string;
}

/** Checks the snapshot reads as one, then writes it and its metadata atomically. */
export function saveStoreBackup(options: SaveStoreBackupOptions): { file: string; metadata: BackupMetadata } {
  const parsed = parseStoreSnapshot(options.endpoint, options.snapshot);
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const takenAt = new Date(options.clock.now());
  const file = uniqueBackupName(options.dir, takenAt, options.runId, 'sandbox', STORE_SNAPSHOT_EXT);
  const metadata: BackupMetadata = {
    format: METADATA_FORMAT,
    kind: 'sandbox-store',
    file: basename(file),
    takenAt: takenAt.toISOString(),
    clusterId: parsed.scenario,
    member: { id: 'sandbox', name: 'sandbox store', endpoint: options.endpoint },
    etcdVersion: 'in-memory',
    revision: parsed.revision,
    keys: parsed.items,
    size: Buffer.byteLength(options.snapshot),
    sha256: createHash('sha256').update(options.snapshot).digest('hex'),
    ...(options.runId ? { runId: options.runId } : {}),
  };
  writeFileAtomic(file, options.snapshot);
  writeFileAtomic(metadataPathOf(file), `${JSON.stringify(metadata, null, 2)}\n`);
  return { file, metadata };
}

/** Why a store snapshot file is not whole: size, SHA-256 and content against its metadata. */
export function storeSnapshotProblems(file: string, metadata: BackupMetadata | undefined): string[] {
  const text = readFileSync(file);
  const problems: string[] = [];
  if (metadata && metadata.size !== text.length)
    problems.push(
      `the file is ${text.length} bytes but its metadata says ${metadata.size}: it was ${text.length < metadata.size ? 'truncated' : 'extended'} since it was saved`,
    );
  else if (metadata && createHash('sha256').update(text).digest('hex') !== metadata.sha256)
    problems.push(
      'its SHA-256 differs from the one its metadata recorded: the file changed since it was saved',
    );
  try {
    const parsed = parseStoreSnapshot(file, text.toString('utf8'));
    if (metadata && parsed.items !== metadata.keys)
      problems.push(`it holds ${parsed.items} objects, its metadata says ${metadata.keys}`);
  } catch (err) {
    problems.push((err as Error).message.replace(`${file}: `, ''));
  }
  return problems;
}

/** What the sandbox answered to `POST /sandbox/v1/store/drill`. */
export interface StoreDrillAnswer {
  revision: number;
  keys: number;
  sampleKeys: string[];
  problems: string[];
}

/** Drills a verified store snapshot by sending it to `load` (the sandbox loads it into a scratch store). */
export async function drillStoreBackup(options: {
  file: string;
  clock: Clock;
  load(snapshot: string): Promise<StoreDrillAnswer>;
}): Promise<DrillReport> {
  const started = options.clock.now();
  const text = readFileSync(options.file, 'utf8');
  const answer = await options.load(text);
  const loaded = options.clock.now();
  return {
    file: options.file,
    ok: answer.problems.length === 0,
    problems: answer.problems,
    revision: answer.revision,
    keys: answer.keys,
    sampleKeys: answer.sampleKeys,
    restoreMs: loaded - started,
    startMs: 0,
    totalMs: loaded - started,
  };
}

function parseStoreSnapshot(
  subject: string,
  text: string,
): { scenario: string; revision: number; items: number } {
  let parsed: { format?: unknown; scenario?: unknown; revision?: unknown; items?: unknown };
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new BackupError(
      subject,
      `the store snapshot is not JSON (${(err as Error).message}): truncated or altered`,
    );
  }
  if (parsed.format !== STORE_FORMAT || !Array.isArray(parsed.items) || typeof parsed.revision !== 'number')
    throw new BackupError(subject, `not a ${STORE_FORMAT} snapshot`);
  return { scenario: String(parsed.scenario ?? ''), revision: parsed.revision, items: parsed.items.length };
}

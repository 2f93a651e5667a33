/**
 * The metadata file written beside each snapshot (`<snapshot>.json`): what was saved, from where, when,
 * and the size and SHA-256 that `verify` compares the file with.
 */
import { existsSync, readFileSync } from 'node:fs';
import { BackupError } from './backup-error.ts';

export const METADATA_FORMAT = 'midflight.etcd-snapshot/v1';

export interface BackupMetadata {
  format: typeof METADATA_FORMAT;
  /** What was saved: an etcd v3 snapshot (the default, when absent) or a sandbox's in-memory store. */
  kind?: 'etcd' | 'sandbox-store';
  /** The snapshot's file name (no directory: the pair moves together). */
  file: string;
  /** ISO time the snapshot was saved. */
  takenAt: string;
  clusterId: string;
  /** The member it was streamed from. */
  member: { id: string; name: string; endpoint: string };
  etcdVersion: string;
  /**
   * The store's revision and key count read together just before the snapshot was taken; the snapshot
   * holds this revision or a later one (writes go on while it streams).
   */
  revision: number;
  keys: number;
  /** Bytes of the snapshot file (database + 32-byte hash). */
  size: number;
  /** SHA-256 (hex) of the whole snapshot file. */
  sha256: string;
  /** The Midflight run that took it, when a run did. */
  runId?: string;
  /** When the snapshot was last verified and drilled, written back by `verify --record` and `drill`. */
  verifiedAt?: string;
  drilledAt?: string;
}

export function metadataPathOf(snapshotFile: string): string {
  return `${snapshotFile}.json`;
}

/** The metadata beside `snapshotFile`; undefined when there is none; a BackupError when it is unreadable. */
export function readMetadata(snapshotFile: string): BackupMetadata | undefined {
  const path = metadataPathOf(snapshotFile);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new BackupError(path, `the metadata is not JSON (${(err as Error).message}): was it edited?`);
  }
  const m = parsed as Partial<BackupMetadata>;
  if (m.format !== METADATA_FORMAT || typeof m.sha256 !== 'string' || typeof m.size !== 'number')
    throw new BackupError(
      path,
      `not a midflight snapshot metadata file (format ${JSON.stringify(m.format)})`,
    );
  return m as BackupMetadata;
}

/**
 * `backup list` and `backup prune`: the snapshots in a directory, newest first, and which of them a
 * retention policy lets go. The choice is a pure function of the list, the policy and `now`.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BackupMetadata } from './backup-metadata.ts';
import { metadataPathOf, readMetadata } from './backup-metadata.ts';
import { STORE_SNAPSHOT_EXT } from './store-backup.ts';

export interface BackupEntry {
  file: string;
  /** From the metadata, else the file's modification time. */
  takenAt: string;
  size: number;
  metadata?: BackupMetadata;
  /** Why the metadata could not be read, when it could not. */
  metadataProblem?: string;
}

/** etcd snapshots are `*.db`, sandbox store snapshots `*.store.json`; temp files start with a dot. */
export function isSnapshotName(name: string): boolean {
  return !name.startsWith('.') && (name.endsWith('.db') || name.endsWith(STORE_SNAPSHOT_EXT));
}

/** The snapshots (`*.db`, `*.store.json`) in `dir`, newest first; [] when the directory does not exist. */
export function listBackups(dir: string): BackupEntry[] {
  if (!existsSync(dir)) return [];
  const entries: BackupEntry[] = [];
  for (const name of readdirSync(dir)) {
    if (!isSnapshotName(name)) continue;
    const file = join(dir, name);
    const stat = statSync(file);
    if (!stat.isFile()) continue;
    let metadata: BackupMetadata | undefined;
    let metadataProblem: string | undefined;
    try {
      metadata = readMetadata(file);
      if (!metadata) metadataProblem = 'no metadata file';
    } catch (err) {
      metadataProblem = (err as Error).message;
    }
    entries.push({
      file,
      takenAt: metadata?.takenAt ?? stat.mtime.toISOString(),
      size: stat.size,
      ...(metadata ? { metadata } : {}),
      ...(metadataProblem ? { metadataProblem } : {}),
    });
  }
  return entries.sort((a, b) => b.takenAt.localeCompare(a.takenAt) || b.file.localeCompare(a.file));
}

export interface Retention {
  /** Keep the newest N. */
  keepLast?: number;
  /** Keep those younger than this (ms). */
  maxAgeMs?: number;
}

/**
 * The entries (newest first) that `retention` lets go. A snapshot is kept when either rule keeps it;
 * with no rule, nothing goes. The newest is always kept: pruning must never leave no way back.
 *
 * Worked example: 5 daily snapshots, keepLast 2, maxAge 3 days: the newest two are kept by count, the one
 * of 2 days ago by age, and the two older than 3 days go.
 */
export function selectPrunable(
  entries: readonly BackupEntry[],
  retention: Retention,
  now: number,
): BackupEntry[] {
  if (retention.keepLast === undefined && retention.maxAgeMs === undefined) return [];
  return entries.filter((entry, index) => {
    if (index === 0) return false;
    const keptByCount = retention.keepLast !== undefined && index < retention.keepLast;
    const keptByAge =
      retention.maxAgeMs !== undefined && now - Date.parse(entry.takenAt) <= retention.maxAgeMs;
    return !keptByCount && !keptByAge;
  });
}

/** Removes the snapshots retention lets go, each with its metadata; returns them. */
export function pruneBackups(dir: string, retention: Retention, now: number): BackupEntry[] {
  const prunable = selectPrunable(listBackups(dir), retention, now);
  for (const entry of prunable) {
    rmSync(entry.file, { force: true });
    rmSync(metadataPathOf(entry.file), { force: true });
  }
  return prunable;
}

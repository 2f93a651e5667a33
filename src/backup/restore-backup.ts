/**
 * `backup restore`: a verified snapshot into a new data directory with `etcdctl snapshot restore`, for a
 * member to be started on. It never writes into a directory that holds anything: restoring over a live
 * member's data is how a cluster is lost.
 */
import { existsSync, readdirSync } from 'node:fs';
import { DEFAULT_ETCDCTL_BINARY, runEtcdctl } from '../etcd/index.ts';
import { BackupError } from './backup-error.ts';
import { requireVerifiedBackup } from './verify-backup.ts';

export interface RestoreBackupOptions {
  file: string;
  /** A directory that does not exist yet, or is empty. */
  dataDir: string;
  /** The member's name; default `default`, as etcd's. */
  name?: string;
  /** `--initial-cluster` of the restored cluster; default the member alone on its peer URL. */
  initialCluster?: string;
  /** Default http://localhost:2380, as etcd's. */
  initialAdvertisePeerUrls?: string;
  initialClusterToken?: string;
  etcdctl?: string;
}

export interface RestoredBackup {
  file: string;
  dataDir: string;
  /** The revision the restored store is at, as etcdctl read it during verification. */
  revision?: number;
}

export async function restoreBackup(options: RestoreBackupOptions): Promise<RestoredBackup> {
  const { file, dataDir } = options;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0)
    throw new BackupError(
      dataDir,
      'the data directory is not empty: restore into a new directory, then point the member at it (never over a live member)',
    );
  const etcdctl = options.etcdctl ?? DEFAULT_ETCDCTL_BINARY;
  const verified = await requireVerifiedBackup({ file, etcdctl }, 'restored');
  const name = options.name ?? 'default';
  const peerUrls = options.initialAdvertisePeerUrls ?? 'http://localhost:2380';
  await runEtcdctl({
    binary: etcdctl,
    args: [
      'snapshot',
      'restore',
      file,
      `--data-dir=${dataDir}`,
      `--name=${name}`,
      `--initial-cluster=${options.initialCluster ?? `${name}=${peerUrls}`}`,
      `--initial-advertise-peer-urls=${peerUrls}`,
      ...(options.initialClusterToken ? [`--initial-cluster-token=${options.initialClusterToken}`] : []),
    ],
  }).catch((err: Error) => {
    throw new BackupError(file, `the restore failed: ${err.message}`);
  });
  return { file, dataDir, ...(verified.status ? { revision: verified.status.revision } : {}) };
}

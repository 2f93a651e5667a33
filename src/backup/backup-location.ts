/**
 * Where snapshots are, as a policy or a flag names it, and kubeadm's layout of etcd's certificates.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EtcdTls } from '../etcd/index.ts';
import { listBackups } from './backup-catalog.ts';

/** `~/x` → the home directory's x; anything else resolved against the working directory. */
export function resolveBackupDir(dir: string): string {
  if (dir === '~') return homedir();
  if (dir.startsWith('~/')) return join(homedir(), dir.slice(2));
  return resolve(dir);
}

/** The newest snapshot in `dir` as preflight's etcd-backup check reads it; undefined when there is none. */
export function newestBackupOf(
  dir: string,
): { file: string; takenAt: string; verifiedAt?: string } | undefined {
  const [newest] = listBackups(resolveBackupDir(dir));
  if (!newest) return undefined;
  return {
    file: newest.file,
    takenAt: newest.takenAt,
    ...(newest.metadata?.verifiedAt ? { verifiedAt: newest.metadata.verifiedAt } : {}),
  };
}

/**
 * The certificates a kubeadm control-plane node has for talking to its etcd: the etcd CA and the client
 * certificate kubeadm issues for health checks (the same files `kubeadm` uses with etcdctl in its docs).
 */
export const KUBEADM_ETCD_TLS: Required<EtcdTls> = {
  cacert: '/etc/kubernetes/pki/etcd/ca.crt',
  cert: '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
  key: '/etc/kubernetes/pki/etcd/healthcheck-client.key',
};

/**
 * What preflight's etcd-backup check needs read from disk: the newest snapshot, only when the policy asks
 * for a fresh one (etcdBackup.maxAge). `defaultDir` is where the run keeps them without etcdBackup.dir.
 */
export function preflightBackupInput(
  policy: { dir?: string; maxAge?: string } | undefined,
  defaultDir: string,
): { newestBackup?: { file: string; takenAt: string; verifiedAt?: string } } {
  if (policy?.maxAge === undefined) return {};
  const newest = newestBackupOf(policy.dir ?? defaultDir);
  return newest ? { newestBackup: newest } : {};
}

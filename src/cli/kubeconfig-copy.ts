/**
 * The private kubeconfig copy a run hands to its provider and hook commands ({kubeconfig}, KUBECONFIG):
 * the chosen context only, so they reach the same cluster even when --context or a merged $KUBECONFIG
 * chose it.
 *
 * IMPORTANT: it holds credentials (a bearer token, a client key), so it lives in the state directory, not
 * in the shared temp directory: `kubeconfigs/PID-RANDOM.kubeconfig`, the folder 0700 and the file 0600. A
 * process killed with SIGKILL cannot delete its copy, so every start deletes the copies whose process is
 * gone.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeconfigCopiesDir } from '../store/index.ts';
import { processExists } from './process-exists.ts';

export interface KubeconfigCopy {
  path: string;
  /** Deletes the copy; idempotent. */
  remove(): void;
}

const COPY_NAME = /^(\d+)-[0-9a-f]+\.kubeconfig$/;

/** Writes this process's copy of `kc` beside the state store at `storePath`, after deleting stale ones. */
export function writeKubeconfigCopy(kc: KubeConfig, storePath: string): KubeconfigCopy {
  const dir = kubeconfigCopiesDir(storePath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Note: mkdir's mode does not apply to a folder that already existed (or is masked by the umask).
  chmodSync(dir, 0o700);
  removeStaleKubeconfigCopies(dir);
  const path = join(dir, `${process.pid}-${randomBytes(4).toString('hex')}.kubeconfig`);
  writeFileSync(path, kc.exportConfig(), { mode: 0o600, flag: 'wx' });
  // A second Ctrl-C ends the process with process.exit(), past every finally: the copy goes then too.
  const remove = () => {
    process.off('exit', remove);
    rmSync(path, { force: true });
  };
  process.on('exit', remove);
  return { path, remove };
}

/** Deletes the copies left by processes that no longer exist (killed, crashed). */
export function removeStaleKubeconfigCopies(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = COPY_NAME.exec(name)?.[1];
    if (pid !== undefined && !processExists(Number(pid))) rmSync(join(dir, name), { force: true });
  }
}

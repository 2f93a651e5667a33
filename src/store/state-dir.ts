/**
 * What midflight keeps beside its state store, in the state directory (the store's folder:
 * ~/.midflight/ by default, or the folder of --state):
 *
 *   state.db                      the runs (RunStore)
 *   runs/RUN/upgrade-NODE.log     what the provider's command printed for NODE, every attempt appended
 *   runs/RUN/hook-NAME.log        what a policy hook printed (hook-pre.all.log, hook-backup.log…)
 *   runs/RUN/etcd-MEMBER.log      what an external etcd member's upgrade commands printed (policy etcd.upgrade)
 *   kubeconfigs/PID-….kubeconfig  the private kubeconfig copy of a running midflight process (mode 0600;
 *                                 a start deletes those of processes that are gone)
 *   etcd-backups/                 the snapshots the etcd-backup phase takes (unless etcdBackup.dir says where)
 *
 * An in-memory store (tests, embedding) has no folder: its files go to a folder in the temp directory.
 */
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export function stateDirOf(storePath: string): string {
  return storePath === ':memory:' ? join(tmpdir(), 'midflight') : resolve(dirname(storePath));
}

/** The folder holding the output of the commands a run starts. */
export function runOutputDir(storePath: string, runId: string): string {
  return join(stateDirOf(storePath), 'runs', fileNamePart(runId));
}

/** The file a command's output goes to: `name` is e.g. `upgrade-general-1` or `hook-pre.all`. */
export function commandOutputFile(storePath: string, runId: string, name: string): string {
  return join(runOutputDir(storePath, runId), `${fileNamePart(name)}.log`);
}

/** Where the etcd-backup phase writes its snapshots when the policy names no etcdBackup.dir. */
export function etcdBackupsDir(storePath: string): string {
  return join(stateDirOf(storePath), 'etcd-backups');
}

/** Where running processes keep their private kubeconfig copies. */
export function kubeconfigCopiesDir(storePath: string): string {
  return join(stateDirOf(storePath), 'kubeconfigs');
}

/** Node and run names are DNS-like already; anything else a file name cannot hold becomes `_`. */
function fileNamePart(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}

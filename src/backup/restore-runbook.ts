/**
 * The way back past a control-plane upgrade, as a runbook a person follows: a control-plane minor cannot be
 * downgraded in place, so the cluster goes back by restoring the etcd snapshot the run took before its
 * control plane moved. Pure: the caller finds the run's snapshot (its metadata carries the run id).
 */
import type { BackupEntry } from './backup-catalog.ts';

export interface RestoreRunbookInput {
  runId: string;
  /** The version the control plane ran before the run, and the one it was upgraded to. */
  from: string;
  to: string;
  /** The control-plane members the run upgraded. */
  members: string[];
  /** The run's snapshot, when one is found. */
  backup?: BackupEntry;
  /** Where it was looked for. */
  backupDir: string;
  /** The policy's hooks.backup, when the run used it instead. */
  hook?: string;
}

export function restoreRunbook(input: RestoreRunbookInput): string[] {
  const { runId, from, to, backup } = input;
  const lines = [
    `The control plane of ${runId} moved from ${from} to ${to} (${input.members.join(', ')}): it cannot be downgraded in place.`,
  ];
  if (!backup) {
    lines.push(
      input.hook
        ? `The run's backup was hooks.backup (${input.hook}): restore with that tool's procedure, then downgrade the control-plane packages and manifests to ${from}.`
        : `No snapshot of ${runId} in ${input.backupDir}: without one there is no way back past the control plane; forward-fix instead.`,
    );
    return lines;
  }
  const m = backup.metadata;
  const described = m
    ? `taken ${m.takenAt}, revision ${m.revision}, ${m.keys} keys, sha256 ${m.sha256.slice(0, 16)}…`
    : `taken ${backup.takenAt}`;
  lines.push(
    `The way back is the snapshot the run took before its control plane moved: ${backup.file} (${described}).`,
  );
  if (m?.kind === 'sandbox-store') {
    lines.push(
      'It is a sandbox store snapshot: a sandbox cannot restore its store in place yet; start a new sandbox from the scenario to begin again.',
    );
    return lines;
  }
  const token = `restore-${runId}`;
  const dataDir = `/var/lib/etcd-${token}`;
  const cluster = input.members.map((n) => `${n}=https://<${n}-ip>:2380`).join(',');
  lines.push(
    'Restore runbook (the API is down from step 3 to step 6):',
    `  1. midflight backup verify ${backup.file} && midflight backup drill ${backup.file}`,
    `  2. Copy ${backup.file} to every control-plane node (${input.members.join(', ')}).`,
    '  3. On every control-plane node, stop kube-apiserver and etcd: move /etc/kubernetes/manifests/kube-apiserver.yaml and etcd.yaml out of the manifests directory.',
    '  4. On each node NODE, into a new data directory:',
    `       midflight backup restore ${backup.file} --data-dir ${dataDir} --name NODE \\`,
    `         --initial-advertise-peer-urls https://<NODE-ip>:2380 --initial-cluster ${cluster} \\`,
    `         --initial-cluster-token ${token}`,
    `     then point etcd.yaml's etcd-data hostPath at ${dataDir}, put etcd.yaml back and wait until every member is healthy.`,
    `  5. Downgrade the control plane to ${from}: kubeadm's previous manifests are in /etc/kubernetes/tmp/kubeadm-backup-manifests-*; the kubeadm and kubelet packages back to ${from}.`,
    `  6. Put kube-apiserver.yaml back; /version must report ${from}.`,
    `  7. midflight rollback ${runId} returns the worker nodes.`,
    'docs/backup.md, "Restoring a cluster", says why each step is there.',
  );
  return lines;
}

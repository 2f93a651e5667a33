import { type ClusterModel, formatVersion, type KubeVersion } from '../core/index.ts';
import { phase, seconds, step } from './plan-parts.ts';
import type { PlanPhase, PlanStep } from './plan-types.ts';
import type { Policy } from './policy.ts';

/** Where the run writes its snapshots when etcdBackup.dir is not set. */
export const DEFAULT_ETCD_BACKUP_DIR = '~/.midflight/etcd-backups';

/**
 * The etcd-backup step says what the run will do. In order: hooks.backup when it is set (the user's own
 * way, e.g. a Velero export on a managed cluster); else Midflight's own save → verify (→ drill), when etcd
 * can be reached: endpoints in the policy, or etcd static pods (kubeadm; their client URLs and certificates
 * are found when the step runs; a sandbox's store is saved through its admin API); else, a managed control
 * plane with no hook, plainly nothing.
 */
export function etcdBackupStep(model: ClusterModel, policy: Policy, movesControlPlane: boolean): PlanStep {
  const etcdMembers = model.controlPlane.filter((m) => m.etcd !== undefined).map((m) => m.node);
  const hook = typeof policy.hooks.backup === 'string' ? policy.hooks.backup.trim() : '';
  const backup = policy.etcdBackup;
  const common = {
    id: 'etcd-backup',
    kind: 'etcd-backup' as const,
    nodes: etcdMembers,
    estimateSeconds: seconds(policy.timings.etcdBackup),
  };
  const reachable = etcdMembers.length > 0 || (backup.endpoints?.length ?? 0) > 0;
  const wayBack = movesControlPlane
    ? 'the apiserver minor cannot be downgraded, so a snapshot is the way back'
    : 'the external etcd is rolled: once every member runs a new minor, etcd cannot go back by itself, so a snapshot is the way back';
  const why =
    etcdMembers.length > 0
      ? `etcd runs on ${etcdMembers.join(', ')}; ${wayBack}`
      : backup.endpoints?.length
        ? `etcd is at ${backup.endpoints.join(', ')} (etcdBackup.endpoints); ${wayBack}`
        : 'no etcd static pods and no etcdBackup.endpoints: the provider manages etcd, Midflight has no access to it';
  if (hook)
    return step({
      ...common,
      title: `Back up etcd with hooks.backup (${hook})`,
      reasons: [
        why,
        ...(reachable ? [] : ['hooks.backup runs instead of a snapshot (e.g. a resource export)']),
      ],
      checks: ['hooks.backup exits 0: it takes the snapshot and verifies it (e.g. etcdutl snapshot status)'],
      rollback: 'nothing to undo; keep the snapshot until the upgrade is validated',
    });
  if (!reachable)
    return step({
      ...common,
      title: 'No etcd backup: the provider manages etcd and hooks.backup is not set',
      reasons: [
        why,
        'no backup will be taken: set hooks.backup to what the provider offers (e.g. a Velero backup), etcdBackup.endpoints if etcd is reachable, or etcdBackup.enabled: false to drop this step',
      ],
      checks: [],
      rollback: 'nothing to undo; without a backup there is no way back past the control plane',
    });
  const dir = backup.dir ?? DEFAULT_ETCD_BACKUP_DIR;
  const members = backup.endpoints?.length
    ? `the snapshot streams from ${backup.endpoints.join(', ')} (etcdBackup.endpoints)`
    : "the members are found the kubeadm way when the step runs (the etcd static pods' client URLs, certificates in /etc/kubernetes/pki/etcd/); on a sandbox, its store is saved, verified and drilled through its admin API";
  return step({
    ...common,
    title: `Back up etcd: save, verify${backup.drill ? ' and drill' : ''} a snapshot`,
    reasons: [why, members],
    checks: [
      `the snapshot is saved whole from a healthy member, atomically, with its metadata, in ${dir}`,
      'it verifies: its own integrity hash, its database pages, its metadata (midflight backup verify)',
      ...(backup.drill ? ['it restores into a scratch etcd and reads back (midflight backup drill)'] : []),
    ],
    rollback: 'nothing to undo; keep the snapshot until the upgrade is validated (docs/backup.md: restoring)',
  });
}

export function controlPlanePhase(model: ClusterModel, hop: KubeVersion, policy: Policy): PlanPhase {
  const v = formatVersion(hop);
  const members = model.controlPlane;
  const steps: PlanStep[] =
    members.length === 0
      ? [
          step({
            id: `cp-${v}`,
            kind: 'control-plane',
            title: `Upgrade the managed control plane to ${v}`,
            version: v,
            reasons: ['no control-plane nodes are visible: the provider upgrades the control plane'],
            checks: [`/version reports ${v} or newer`],
            rollback: 'managed control planes cannot be downgraded; forward-fix with the provider',
            estimateSeconds: seconds(policy.timings.controlPlaneMember) * 3,
          }),
        ]
      : members.map((m, i) =>
          step({
            id: `cp-${v}-${m.node}`,
            kind: 'control-plane',
            title: `Upgrade control-plane member ${m.node} to ${v}`,
            version: v,
            nodes: [m.node],
            reasons: [
              `member ${i + 1} of ${members.length}: one at a time so the apiservers stay within one minor and etcd keeps quorum`,
              ...(m.etcd && members.length > 1
                ? [
                    `it starts only once every other etcd member is healthy, so taking ${m.node}'s down keeps quorum`,
                  ]
                : []),
              ...(m.etcd && members.length === 1
                ? ['etcd has a single member: the API is unavailable while it restarts']
                : []),
              policy.drain.controlPlane
                ? `${m.node} is cordoned and drained first, as kubeadm's runbook does (drain.controlPlane)`
                : `${m.node} is not drained: drain.controlPlane is false`,
            ],
            checks: [
              `kube-apiserver, kube-controller-manager and kube-scheduler on ${m.node} run ${v} and are Ready`,
              `node ${m.node} is Ready with kubelet ${v}`,
              ...(m.etcd ? [`etcd on ${m.node} is a healthy member and the cluster has quorum`] : []),
              ...(policy.drain.controlPlane ? [`node ${m.node} is uncordoned`] : []),
            ],
            rollback:
              i < members.length - 1 || members.length === 1
                ? `restore ${m.node}'s static-pod manifests from the backup taken before the step (kubeadm keeps \`/etc/kubernetes/tmp/kubeadm-backup-manifests-*\`)`
                : 'once every member runs the new minor, go back only by restoring the etcd snapshot',
            estimateSeconds: seconds(policy.timings.controlPlaneMember),
          }),
        );
  return phase('control-plane', `Control plane → ${v}`, steps, { version: v });
}

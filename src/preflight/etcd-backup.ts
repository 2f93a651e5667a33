import { clusterModelOf, compareVersions, formatVersion, sourceVersionOf } from '../core/index.ts';
import type { Finding, PreflightCheck } from './finding.ts';

/**
 * `etcd-backup`: the control plane is about to move and the policy asks for an etcd backup phase
 * (etcdBackup.enabled) without saying how to take one (hooks.backup): the run will take none, and a
 * control-plane minor cannot be downgraded, so the way back would be gone. A warning, not a blocker: the
 * plan says so plainly, and `etcdBackup.enabled: false` is how to accept it.
 */
export const checkEtcdBackup: PreflightCheck = (snapshot, target, options) => {
  if (options.etcdBackup?.enabled === false) return [];
  if (typeof options.hooks?.backup === 'string' && options.hooks.backup.trim() !== '') return [];
  const source = sourceVersionOf(clusterModelOf(snapshot, options.poolLabel));
  if (!source || compareVersions(target, source) <= 0) return [];
  const finding: Finding = {
    id: 'etcd-backup',
    severity: 'warning',
    subject: { kind: 'Policy', name: 'hooks.backup' },
    message: `no etcd backup will be taken before the control plane moves to ${formatVersion(target)}: hooks.backup is not set`,
    fix: 'set hooks.backup to a command that takes and verifies an etcd snapshot, or etcdBackup.enabled: false to go without one',
  };
  return [finding];
};

import { clusterModelOf, isEvictable } from '../core/index.ts';
import type { Finding, PreflightCheck } from './finding.ts';

/**
 * `unmanaged-pod`: pods no controller recreates. kubectl drain refuses them without --force; with force they
 * are deleted for good.
 */
export const checkUnmanagedPod: PreflightCheck = (snapshot, _target, options) => {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const force = options.drain?.force === true;
  const findings: Finding[] = [];
  for (const n of model.nodes) {
    for (const pod of n.pods) {
      if (!isEvictable(pod) || pod.metadata.ownerReferences?.some((o) => o.controller)) continue;
      findings.push({
        id: 'unmanaged-pod',
        severity: force ? 'warning' : 'blocker',
        subject: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name },
        message: force
          ? `declares no controller: draining ${n.name} deletes it and nothing recreates it`
          : `declares no controller: the drain of ${n.name} refuses to delete it`,
        fix: force
          ? 'run it under a Deployment, StatefulSet or Job, or recreate it by hand after the upgrade'
          : 'run it under a controller, delete it, or set drain.force: true to delete it during the drain',
      });
    }
  }
  return findings;
};

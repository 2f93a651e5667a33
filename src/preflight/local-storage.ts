import { clusterModelOf, hasEmptyDir, isEvictable, podKey } from '../core/index.ts';
import { type Finding, listSome, type PreflightCheck } from './finding.ts';

/**
 * `local-storage`: pods whose emptyDir data dies with the eviction. kubectl drain refuses them unless
 * --delete-emptydir-data (drain.deleteEmptyDirData); one finding per owning workload.
 */
export const checkLocalStorage: PreflightCheck = (snapshot, _target, options) => {
  const model = clusterModelOf(snapshot, options.poolLabel);
  const allowed = options.drain?.deleteEmptyDirData === true;
  const byOwner = new Map<string, { subject: Finding['subject']; pods: string[] }>();
  for (const pod of snapshot.pods) {
    if (!pod.spec.nodeName || !isEvictable(pod) || !hasEmptyDir(pod)) continue;
    const owner = model.ownerOf(pod);
    const subject = owner
      ? { kind: owner.kind, namespace: owner.namespace, name: owner.name }
      : { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name };
    const key = `${subject.kind}/${subject.namespace}/${subject.name}`;
    let entry = byOwner.get(key);
    if (!entry) {
      entry = { subject, pods: [] };
      byOwner.set(key, entry);
    }
    entry.pods.push(podKey(pod));
  }
  return [...byOwner.values()].map(({ subject, pods }) => ({
    id: 'local-storage',
    severity: allowed ? 'warning' : 'blocker',
    subject,
    message: allowed
      ? `${pods.length} pod(s) keep data in emptyDir (${listSome(pods)}); it is lost when they are evicted`
      : `${pods.length} pod(s) use emptyDir (${listSome(pods)}); the drain refuses to evict them`,
    fix: allowed
      ? 'make sure the data is disposable (caches, scratch) or move it to a PersistentVolume'
      : 'set drain.deleteEmptyDirData: true if the data is disposable, or move it to a PersistentVolume',
  }));
};

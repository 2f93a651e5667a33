import type { V1Pod } from '@kubernetes/client-node';

/**
 * What drain does with one pod, as kubectl's drain filters decide it (k8s.io/kubectl/pkg/drain/filters.go):
 * `okay` evict it; `warning` evict it but tell the user; `skip` leave it; `error` it blocks the drain.
 */
export type PodDeleteAction = 'okay' | 'skip' | 'warning' | 'error';

/** Why a pod blocks a drain before any eviction is tried. */
export type PodFilterBlock = 'daemonset' | 'local-storage' | 'unmanaged';

export interface PodDeleteStatus {
  action: PodDeleteAction;
  message?: string;
  /** Set for `error`: which rule refused the pod. */
  block?: PodFilterBlock;
}

export interface PodFilterOptions {
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  force: boolean;
  /** 0 = off. */
  skipWaitForDeleteTimeoutSeconds: number;
}

export interface PodFilterFacts {
  /** The clock's now, in ms. */
  now: number;
  /** The pod's DaemonSet no longer exists (only asked about DaemonSet-managed pods). */
  daemonSetMissing?: boolean;
}

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/**
 * Runs kubectl's filters in kubectl's order — deleted, DaemonSet, mirror, local storage, unreplicated —
 * stopping at the first that does not allow deletion. Every pod gets a status, so one pass over the node
 * reports every blocker.
 */
export function podDeleteStatus(
  pod: V1Pod,
  options: PodFilterOptions,
  facts: PodFilterFacts,
): PodDeleteStatus {
  const filters = [skipDeleted, daemonSet, mirrorPod, localStorage, unreplicated];
  let status: PodDeleteStatus = { action: 'okay' };
  for (const filter of filters) {
    status = filter(pod, options, facts) ?? status;
    if (status.action === 'skip' || status.action === 'error') break;
  }
  return status;
}

type Filter = (pod: V1Pod, options: PodFilterOptions, facts: PodFilterFacts) => PodDeleteStatus | undefined;

const skipDeleted: Filter = (pod, options, facts) => {
  const age = deletionAgeSeconds(pod, facts.now);
  if (age === undefined || options.skipWaitForDeleteTimeoutSeconds <= 0) return undefined;
  if (age <= options.skipWaitForDeleteTimeoutSeconds) return undefined;
  return {
    action: 'skip',
    message: `pod has DeletionTimestamp older than ${options.skipWaitForDeleteTimeoutSeconds} seconds, skipping`,
  };
};

const daemonSet: Filter = (pod, options, facts) => {
  const owner = controllerOf(pod);
  if (owner?.kind !== 'DaemonSet' || isTerminal(pod)) return undefined;
  if (facts.daemonSetMissing) {
    if (options.force) return { action: 'warning', message: `its DaemonSet ${owner.name} does not exist` };
    return {
      action: 'error',
      block: 'daemonset',
      message: `its DaemonSet ${owner.name} does not exist (set force to delete it)`,
    };
  }
  if (!options.ignoreDaemonSets) {
    return {
      action: 'error',
      block: 'daemonset',
      message: 'DaemonSet-managed pod (set ignoreDaemonSets to ignore)',
    };
  }
  return { action: 'skip', message: 'ignoring DaemonSet-managed pod' };
};

const mirrorPod: Filter = (pod) =>
  pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined
    ? { action: 'skip', message: 'mirror pod (managed by the kubelet)' }
    : undefined;

const localStorage: Filter = (pod, options) => {
  if (isTerminal(pod) || !(pod.spec?.volumes ?? []).some((v) => v.emptyDir)) return undefined;
  if (!options.deleteEmptyDirData) {
    return {
      action: 'error',
      block: 'local-storage',
      message: 'pod with local storage (emptyDir; set deleteEmptyDirData to delete it)',
    };
  }
  return { action: 'warning', message: 'deleting pod with local storage (emptyDir)' };
};

const unreplicated: Filter = (pod, options) => {
  if (isTerminal(pod) || controllerOf(pod)) return undefined;
  if (!options.force) {
    return {
      action: 'error',
      block: 'unmanaged',
      message: 'pod declares no controller (set force to delete it)',
    };
  }
  return { action: 'warning', message: 'deleting pod that declares no controller' };
};

export function controllerOf(pod: V1Pod): { kind: string; name: string } | undefined {
  return pod.metadata?.ownerReferences?.find((o) => o.controller);
}

function isTerminal(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Seconds since the pod's deletion started, or undefined when it is not being deleted. */
export function deletionAgeSeconds(
  pod: { metadata?: { deletionTimestamp?: Date | string } },
  now: number,
): number | undefined {
  const ts = pod.metadata?.deletionTimestamp;
  if (!ts) return undefined;
  return Math.floor((now - new Date(ts).getTime()) / 1000);
}

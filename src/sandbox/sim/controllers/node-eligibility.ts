import type { KubeObject } from '../../store/types.ts';

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** What the DaemonSet controller adds to every daemon pod (k/k pkg/controller/daemon/util). */
export const DAEMONSET_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' },
];

export function tolerates(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if ((t.operator ?? 'Equal') === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

interface NodeSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}

interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

/** Whether a pod spec's nodeSelector and required node affinity admit the node. */
export function nodeMatchesPodSpec(node: KubeObject, podSpec: KubeObject['spec']): boolean {
  const labels: Record<string, string> = node.metadata.labels ?? {};
  for (const [key, value] of Object.entries((podSpec?.nodeSelector ?? {}) as Record<string, string>)) {
    if (labels[key] !== value) return false;
  }
  const terms: NodeSelectorTerm[] | undefined =
    podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms) return true;
  const fields = { 'metadata.name': node.metadata.name ?? '' };
  return terms.some(
    (term) =>
      (term.matchExpressions?.length || term.matchFields?.length) &&
      (term.matchExpressions ?? []).every((r) => matchesRequirement(r, labels)) &&
      (term.matchFields ?? []).every((r) => matchesRequirement(r, fields)),
  );
}

function matchesRequirement(req: NodeSelectorRequirement, values: Record<string, string>): boolean {
  const has = Object.hasOwn(values, req.key);
  const value = values[req.key];
  switch (req.operator) {
    case 'In':
      return has && (req.values ?? []).includes(value!);
    case 'NotIn':
      return !has || !(req.values ?? []).includes(value!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has) return false;
      const n = Number.parseInt(value!, 10);
      const bound = Number.parseInt(req.values?.[0] ?? '', 10);
      if (Number.isNaN(n) || Number.isNaN(bound)) return false;
      return req.operator === 'Gt' ? n > bound : n < bound;
    }
    default:
      return false;
  }
}

/**
 * Whether a daemon pod should be placed on the node (no untolerated NoSchedule/NoExecute taint) and whether
 * one already there may stay (no untolerated NoExecute taint), as upstream's NodeShouldRunDaemonPod.
 */
export function daemonPlacement(
  node: KubeObject,
  podSpec: KubeObject['spec'],
  tolerations: readonly Toleration[],
): { shouldRun: boolean; shouldContinueRunning: boolean } {
  if (node.metadata.deletionTimestamp || !nodeMatchesPodSpec(node, podSpec)) {
    return { shouldRun: false, shouldContinueRunning: false };
  }
  const taints: Taint[] = node.spec?.taints ?? [];
  const untolerated = taints.filter((t) => t.effect !== 'PreferNoSchedule' && !tolerates(tolerations, t));
  return {
    shouldRun: untolerated.length === 0,
    shouldContinueRunning: !untolerated.some((t) => t.effect === 'NoExecute'),
  };
}

/**
 * Taints and tolerations, matched as Kubernetes matches them (k8s.io/api/core/v1 Toleration.ToleratesTaint),
 * for everyone who places pods: the planner's capacity model, the sandbox's scheduler, taint manager,
 * DaemonSet controller and scenario builder.
 */
export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect | string;
  /** When a NoExecute taint was added (RFC 3339): tolerationSeconds count from here. */
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  /** '' or absent means Equal. */
  operator?: 'Exists' | 'Equal' | string;
  value?: string;
  /** '' or absent matches every effect. */
  effect?: TaintEffect | string;
  /** For NoExecute: how long the pod stays bound after the taint appears; absent means forever. */
  tolerationSeconds?: number | null;
}

/**
 * Whether one toleration tolerates one taint. As upstream:
 * - an empty effect matches every effect; otherwise the effects must be equal;
 * - an empty key matches every key (the API admits that only with Exists: "tolerate everything");
 * - Exists matches any value; Equal (or no operator) needs equal values, absent counting as '';
 * - any other operator matches nothing.
 */
export function toleratesTaint(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  switch (toleration.operator ?? '') {
    case 'Exists':
      return true;
    case '':
    case 'Equal':
      return (toleration.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

/** Whether any of the tolerations tolerates the taint. */
export function tolerates(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => toleratesTaint(t, taint));
}

/** Whether the taint keeps pods that do not tolerate it off the node: NoSchedule or NoExecute. */
export function isHardTaint(taint: Taint): boolean {
  return taint.effect === 'NoSchedule' || taint.effect === 'NoExecute';
}

/**
 * The first NoSchedule or NoExecute taint none of the tolerations tolerates, or undefined when they tolerate
 * them all (PreferNoSchedule only steers scoring, it never rejects a node).
 */
export function firstUntoleratedTaint(
  taints: readonly Taint[] | undefined,
  tolerations: readonly Toleration[] | undefined,
): Taint | undefined {
  return (taints ?? []).find((taint) => isHardTaint(taint) && !tolerates(tolerations, taint));
}

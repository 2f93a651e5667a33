/**
 * Where a pod may go and where it had better go given the pods already placed: the default scheduler's
 * PodTopologySpread and InterPodAffinity plugins, as far as the sandbox needs them.
 *
 * - `spec.topologySpreadConstraints`: `DoNotSchedule` is a filter (a node whose domain would exceed
 *   `maxSkew` over the least loaded domain is out), `ScheduleAnyway` a score (fewer matching pods in the
 *   node's domain is better).
 * - Without constraints of its own, a pod controlled by a ReplicaSet, StatefulSet or ReplicationController
 *   gets the scheduler's default constraints: spread by `kubernetes.io/hostname` (maxSkew 3) and by
 *   `topology.kubernetes.io/zone` (maxSkew 5), both ScheduleAnyway, over the pods of the same controller.
 *   Note: the real default selector is built from the Services and controllers selecting the pod; the pods
 *   of the pod's own controller are what it almost always amounts to, and they are indexed.
 * - `podAntiAffinity`: required terms are a filter (no node in a domain holding a matching pod), preferred
 *   terms a score (weight × matching pods in the node's domain).
 * Not modelled: pod affinity, the anti-affinity of pods already placed against the incoming one,
 * `matchLabelKeys`, `minDomains`, and node inclusion policies (domains are counted over the nodes the pod
 * may go to).
 */
import {
  type LabelSelector,
  matchesRequirements,
  type Requirement,
  requirementsOf,
} from '../../core/index.ts';
import type { KubeObject } from '../store/types.ts';

export const HOSTNAME_KEY = 'kubernetes.io/hostname';
export const ZONE_KEY = 'topology.kubernetes.io/zone';
export const SPREAD_REJECTION = "node(s) didn't match pod topology spread constraints";
export const ANTI_AFFINITY_REJECTION = "node(s) didn't match pod anti-affinity rules";
const DEFAULT_CONSTRAINTS = [
  { topologyKey: HOSTNAME_KEY, maxSkew: 3 },
  { topologyKey: ZONE_KEY, maxSkew: 5 },
];

/** A node as placement rules read it: its name and labels (the topology domains it is in). */
export interface TopologyNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>> | undefined;
}

/** What the scheduler knows of the pods already placed, and of its nodes. */
export interface PlacedPods {
  /** Pods bound in a namespace, with their labels and node. */
  inNamespace(namespace: string): Iterable<{ labels: Record<string, string> | undefined; node: string }>;
  /** How many pods of a controller (by uid) each node holds. */
  ofController(uid: string): ReadonlyMap<string, number> | undefined;
  nodeLabels(node: string): Record<string, string> | undefined;
}

/** One pod's placement rules, for the nodes it may go to. */
export interface PlacementRules {
  /** Why the node may not take the pod, or undefined. */
  reject(node: TopologyNode): string | undefined;
  /** Lower is better: matching pods in the node's domains, weighted; undefined when nothing is soft. */
  spreadCost?(node: TopologyNode): number;
  /** Lower is better: preferred anti-affinity weight × matching pods in the node's domain. */
  antiAffinityCost?(node: TopologyNode): number;
  /** True when `reject` can say no: the scheduler's cache of identical failures must not be used. */
  filters: boolean;
}

interface Term {
  topologyKey: string;
  /** Matching pods per domain (value of topologyKey). */
  counts: Map<string, number>;
}

interface SpreadTerm extends Term {
  maxSkew: number;
  /** The incoming pod counts itself when the selector matches it. */
  self: number;
  /** Fewest matching pods over the domains the pod may go to. */
  min: number;
  weight: number;
}

/**
 * The rules for `pod`, or undefined when it has none (no constraint, no anti-affinity, no controller).
 * `domainsOf(key)` gives the values of the label `key` among the nodes the pod may go to (its keys; what
 * they map to is not read).
 */
export function placementRules(
  pod: KubeObject,
  placed: PlacedPods,
  domainsOf: (topologyKey: string) => ReadonlyMap<string, unknown>,
): PlacementRules | undefined {
  const namespace = pod.metadata.namespace ?? 'default';
  const labels = pod.metadata.labels;
  const hard: SpreadTerm[] = [];
  const soft: SpreadTerm[] = [];
  const spreadTerm = (
    topologyKey: string,
    maxSkew: number,
    counts: Map<string, number>,
    self: number,
    hard: boolean,
  ) => {
    const domains = domainsOf(topologyKey);
    let min = Number.POSITIVE_INFINITY;
    // Note: only a filter needs the least loaded domain; scoring skips the walk over every host.
    if (hard) for (const d of domains.keys()) min = Math.min(min, counts.get(d) ?? 0);
    // The real scorer weighs a key by the log of its number of domains: zones count more than hosts.
    return {
      topologyKey,
      maxSkew,
      counts,
      self,
      min: Number.isFinite(min) ? min : 0,
      weight: Math.log(domains.size + 2),
    };
  };

  const constraints = (pod.spec?.topologySpreadConstraints ?? []) as Array<{
    maxSkew?: number;
    topologyKey?: string;
    whenUnsatisfiable?: string;
    labelSelector?: LabelSelector;
  }>;
  if (constraints.length > 0) {
    for (const c of constraints) {
      if (!c.topologyKey || !c.labelSelector) continue;
      const requirements = safeRequirements(c.labelSelector);
      if (!requirements) continue;
      const counts = countMatching(placed, [namespace], requirements, c.topologyKey);
      const isHard = c.whenUnsatisfiable !== 'ScheduleAnyway';
      const self = matchesRequirements(requirements, labels) ? 1 : 0;
      (isHard ? hard : soft).push(spreadTerm(c.topologyKey, c.maxSkew ?? 1, counts, self, isHard));
    }
  } else {
    const controller = controllerOf(pod);
    const onNodes = controller ? placed.ofController(controller) : undefined;
    if (controller)
      for (const { topologyKey, maxSkew } of DEFAULT_CONSTRAINTS) {
        const counts = new Map<string, number>();
        for (const [node, n] of onNodes ?? []) {
          const value = placed.nodeLabels(node)?.[topologyKey];
          if (value !== undefined) counts.set(value, (counts.get(value) ?? 0) + n);
        }
        soft.push(spreadTerm(topologyKey, maxSkew, counts, 1, false));
      }
  }

  const antiAffinity = pod.spec?.affinity?.podAntiAffinity ?? {};
  const required = ((antiAffinity.requiredDuringSchedulingIgnoredDuringExecution ?? []) as AffinityTerm[])
    .map((t) => affinityTerm(t, placed, namespace))
    .filter((t): t is Term => t !== undefined);
  const preferred = (
    (antiAffinity.preferredDuringSchedulingIgnoredDuringExecution ?? []) as Array<{
      weight?: number;
      podAffinityTerm?: AffinityTerm;
    }>
  )
    .map((p) => {
      const term = p.podAffinityTerm ? affinityTerm(p.podAffinityTerm, placed, namespace) : undefined;
      return term && { ...term, weight: p.weight ?? 1 };
    })
    .filter((t): t is Term & { weight: number } => t !== undefined);

  if (hard.length === 0 && soft.length === 0 && required.length === 0 && preferred.length === 0)
    return undefined;
  return {
    filters: hard.length > 0 || required.length > 0,
    reject(node) {
      for (const t of hard) {
        const d = node.labels?.[t.topologyKey];
        if (d === undefined || (t.counts.get(d) ?? 0) + t.self - t.min > t.maxSkew) return SPREAD_REJECTION;
      }
      for (const t of required) {
        const d = node.labels?.[t.topologyKey];
        if (d !== undefined && (t.counts.get(d) ?? 0) > 0) return ANTI_AFFINITY_REJECTION;
      }
      return undefined;
    },
    spreadCost: weightedCost(soft),
    antiAffinityCost: weightedCost(preferred),
  };
}

/** Σ weight × matching pods in the node's domain over `terms`; undefined when there are none (no score). */
function weightedCost(terms: Array<Term & { weight: number }>): ((node: TopologyNode) => number) | undefined {
  if (terms.length === 0) return undefined;
  return (node) => {
    let cost = 0;
    for (const t of terms) {
      const d = node.labels?.[t.topologyKey];
      if (d !== undefined) cost += (t.counts.get(d) ?? 0) * t.weight;
    }
    return cost;
  };
}

interface AffinityTerm {
  labelSelector?: LabelSelector;
  namespaces?: string[];
  topologyKey?: string;
}

function affinityTerm(term: AffinityTerm, placed: PlacedPods, namespace: string): Term | undefined {
  if (!term.topologyKey || !term.labelSelector) return undefined;
  const requirements = safeRequirements(term.labelSelector);
  if (!requirements) return undefined;
  const namespaces = term.namespaces?.length ? term.namespaces : [namespace];
  return {
    topologyKey: term.topologyKey,
    counts: countMatching(placed, namespaces, requirements, term.topologyKey),
  };
}

function countMatching(
  placed: PlacedPods,
  namespaces: string[],
  requirements: Requirement[],
  topologyKey: string,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const namespace of namespaces)
    for (const pod of placed.inNamespace(namespace)) {
      if (!matchesRequirements(requirements, pod.labels)) continue;
      const value = placed.nodeLabels(pod.node)?.[topologyKey];
      if (value !== undefined) counts.set(value, (counts.get(value) ?? 0) + 1);
    }
  return counts;
}

function safeRequirements(selector: LabelSelector): Requirement[] | undefined {
  try {
    return requirementsOf(selector);
  } catch {
    // A selector the API would have refused matches nothing rather than stopping the scheduler.
    return undefined;
  }
}

/** The uid of the pod's controller when it is one the default spreading follows. */
export function controllerOf(pod: KubeObject): string | undefined {
  const ref = pod.metadata.ownerReferences?.find((o) => o.controller);
  if (!ref || !['ReplicaSet', 'StatefulSet', 'ReplicationController'].includes(ref.kind)) return undefined;
  return ref.uid;
}

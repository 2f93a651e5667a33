/**
 * Whether the pods evicted from a set of nodes can be scheduled on the other nodes.
 *
 * Note: this is a necessary condition, not a scheduler: pods are grouped by where they may run (node selector
 * and tolerated taints), and each group's requests must fit in the free allocatable of the nodes it may use,
 * and all evicted requests together must fit in the free allocatable of all usable nodes. Bin-packing
 * fragmentation and affinity are ignored, so "fits" can still leave a pod Pending; "does not fit" is certain.
 */
import { type ClusterModel, isEvictable, type NodeModel } from './cluster-model.ts';
import { quantityOrZero } from './quantity.ts';
import type { Node, Pod } from './snapshot.ts';
import { firstUntoleratedTaint } from './taints.ts';

export interface Resources {
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
}

const ZERO: Resources = { cpuMillis: 0, memoryBytes: 0, pods: 0 };

function add(a: Resources, b: Resources): Resources {
  return {
    cpuMillis: a.cpuMillis + b.cpuMillis,
    memoryBytes: a.memoryBytes + b.memoryBytes,
    pods: a.pods + b.pods,
  };
}

function sub(a: Resources, b: Resources): Resources {
  return {
    cpuMillis: a.cpuMillis - b.cpuMillis,
    memoryBytes: a.memoryBytes - b.memoryBytes,
    pods: a.pods - b.pods,
  };
}

function fitsIn(demand: Resources, free: Resources): boolean {
  return (
    demand.cpuMillis <= free.cpuMillis && demand.memoryBytes <= free.memoryBytes && demand.pods <= free.pods
  );
}

/** A pod's requests as the scheduler counts them: containers summed, at least the largest init container. */
export function podRequests(pod: Pod): Resources {
  let cpu = 0;
  let mem = 0;
  for (const c of pod.spec.containers) {
    cpu += quantityOrZero(c.resources?.requests?.cpu ?? c.resources?.limits?.cpu);
    mem += quantityOrZero(c.resources?.requests?.memory ?? c.resources?.limits?.memory);
  }
  for (const c of pod.spec.initContainers ?? []) {
    cpu = Math.max(cpu, quantityOrZero(c.resources?.requests?.cpu ?? c.resources?.limits?.cpu));
    mem = Math.max(mem, quantityOrZero(c.resources?.requests?.memory ?? c.resources?.limits?.memory));
  }
  cpu += quantityOrZero(pod.spec.overhead?.cpu);
  mem += quantityOrZero(pod.spec.overhead?.memory);
  return { cpuMillis: Math.ceil(cpu * 1000 - 1e-9), memoryBytes: Math.ceil(mem), pods: 1 };
}

export function nodeAllocatable(node: Node): Resources {
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  return {
    cpuMillis: Math.floor(quantityOrZero(a.cpu) * 1000 + 1e-9),
    memoryBytes: quantityOrZero(a.memory),
    pods: quantityOrZero(a.pods ?? '110'),
  };
}

/** Node selector and hard taints only (affinity is not modelled). */
export function podMayRunOn(pod: Pod, node: NodeModel): boolean {
  if (!node.ready || node.cordoned) return false;
  const labels = node.node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  return firstUntoleratedTaint(node.node.spec?.taints, pod.spec.tolerations) === undefined;
}

export interface CapacityShortfall {
  /** Which pods could not fit, e.g. "pods with nodeSelector pool=gpu". */
  group: string;
  demand: Resources;
  free: Resources;
}

export interface CapacityVerdict {
  fits: boolean;
  shortfalls: CapacityShortfall[];
  /** Pods that must move. */
  demand: Resources;
}

interface NodeDemand {
  total: Resources;
  byGroup: Map<PlacementGroup, Resources>;
}

interface PlacementGroup {
  label: string;
  eligible: Set<string>;
  free: Resources;
}

/**
 * Capacity questions for one snapshot. Free capacity is allocatable minus requests of the pods bound there;
 * groups of pods with the same placement constraints share one precomputed set of eligible nodes.
 */
export class CapacityModel {
  readonly freeByNode = new Map<string, Resources>();
  private readonly groups = new Map<string, PlacementGroup>();
  private readonly requests = new Map<Pod, Resources>();
  private readonly groupOfPod = new Map<Pod, PlacementGroup>();
  private readonly demandByNode = new Map<string, NodeDemand>();
  private totalFree: Resources = ZERO;

  constructor(private readonly model: ClusterModel) {
    for (const n of model.nodes) {
      let used = ZERO;
      for (const pod of n.pods) if (!isTerminalLike(pod)) used = add(used, this.requestsOf(pod));
      const free = sub(nodeAllocatable(n.node), used);
      this.freeByNode.set(n.name, free);
      if (n.ready && !n.cordoned) this.totalFree = add(this.totalFree, clampZero(free));
    }
  }

  requestsOf(pod: Pod): Resources {
    let r = this.requests.get(pod);
    if (!r) {
      r = podRequests(pod);
      this.requests.set(pod, r);
    }
    return r;
  }

  /** Pods a drain of these nodes would need to reschedule (controller-managed, evictable). */
  podsToMove(nodeNames: readonly string[]): Pod[] {
    const pods: Pod[] = [];
    for (const name of nodeNames) {
      for (const pod of this.model.nodeByName.get(name)?.pods ?? []) {
        if (isEvictable(pod) && this.model.ownerOf(pod)) pods.push(pod);
      }
    }
    return pods;
  }

  /**
   * Whether the pods on `drained` fit elsewhere. `extra` is capacity the strategy adds (surge nodes), usable
   * by any pod.
   */
  check(drained: readonly string[], extra: Resources = ZERO): CapacityVerdict {
    const drainedSet = new Set(drained);
    const demandByGroup = new Map<PlacementGroup, Resources>();
    let demand = ZERO;
    for (const name of drainedSet) {
      const node = this.demandOf(name);
      demand = add(demand, node.total);
      for (const [group, r] of node.byGroup)
        demandByGroup.set(group, add(demandByGroup.get(group) ?? ZERO, r));
    }
    const shortfalls: CapacityShortfall[] = [];
    let lostTotal = ZERO;
    for (const name of drained) {
      const n = this.model.nodeByName.get(name);
      if (n?.ready && !n.cordoned) lostTotal = add(lostTotal, clampZero(this.freeByNode.get(name) ?? ZERO));
    }
    const totalFree = add(sub(this.totalFree, lostTotal), extra);
    if (!fitsIn(demand, totalFree)) shortfalls.push({ group: 'all evicted pods', demand, free: totalFree });
    for (const [group, groupDemand] of demandByGroup) {
      let lost = ZERO;
      for (const name of drainedSet) {
        if (group.eligible.has(name)) lost = add(lost, clampZero(this.freeByNode.get(name) ?? ZERO));
      }
      const free = add(sub(group.free, lost), extra);
      if (!fitsIn(groupDemand, free)) shortfalls.push({ group: group.label, demand: groupDemand, free });
    }
    return { fits: shortfalls.length === 0, shortfalls, demand };
  }

  /**
   * The most of `nodes` that may be out at once, up to `limit`, with their pods still fitting elsewhere:
   * tested on the busiest ones (the most CPU requested), the worst set of each size that is cheap to name.
   * At least 1: a node whose pods fit nowhere still has to go (its pods wait Pending for it).
   * Note: a binary search, since a set that fits stays fitting with a node less.
   */
  maxInFlightThatFits(nodes: readonly string[], limit: number, extra: Resources = ZERO): number {
    const busiest = this.busiestFirst(nodes);
    let fits = 1;
    let fails = Math.min(limit, nodes.length) + 1;
    if (this.check(busiest.slice(0, fails - 1), extra).fits) return Math.max(1, fails - 1);
    while (fails - fits > 1) {
      const mid = Math.floor((fits + fails) / 2);
      if (this.check(busiest.slice(0, mid), extra).fits) fits = mid;
      else fails = mid;
    }
    return fits;
  }

  /**
   * What the pods of the busiest `count` of `nodes` (the set maxInFlightThatFits tests) lack elsewhere when
   * those nodes are out at once: the CPU and memory missing (the most any placement group or all of them
   * together lack) and how many pods there are in the groups that do not fit (some of them would wait
   * Pending). All zero when they fit.
   */
  shortfallOf(nodes: readonly string[], count: number, extra: Resources = ZERO): Resources {
    const verdict = this.check(this.busiestFirst(nodes).slice(0, count), extra);
    let short = ZERO;
    for (const f of verdict.shortfalls) {
      short = {
        cpuMillis: Math.max(short.cpuMillis, f.demand.cpuMillis - f.free.cpuMillis),
        memoryBytes: Math.max(short.memoryBytes, f.demand.memoryBytes - f.free.memoryBytes),
        pods: Math.max(short.pods, f.demand.pods),
      };
    }
    return short;
  }

  private busiestFirst(nodes: readonly string[]): string[] {
    return [...nodes].sort(
      (a, b) => this.demandOf(b).total.cpuMillis - this.demandOf(a).total.cpuMillis || (a < b ? -1 : 1),
    );
  }

  /**
   * The requests of the pods a drain of this node moves, in total and per placement group, memoised.
   * Note: the planner and preflight ask about sets of many nodes (and nodes one by one) on large pools, so
   * summing per-node totals instead of re-reading every pod is what keeps planning fast.
   */
  private demandOf(name: string): NodeDemand {
    let demand = this.demandByNode.get(name);
    if (!demand) {
      const byGroup = new Map<PlacementGroup, Resources>();
      let total = ZERO;
      for (const pod of this.podsToMove([name])) {
        const r = this.requestsOf(pod);
        total = add(total, r);
        const group = this.groupOf(pod);
        byGroup.set(group, add(byGroup.get(group) ?? ZERO, r));
      }
      demand = { total, byGroup };
      this.demandByNode.set(name, demand);
    }
    return demand;
  }

  private groupOf(pod: Pod): PlacementGroup {
    const known = this.groupOfPod.get(pod);
    if (known) return known;
    const group = this.groupFor(pod);
    this.groupOfPod.set(pod, group);
    return group;
  }

  private groupFor(pod: Pod): PlacementGroup {
    const key = JSON.stringify([pod.spec.nodeSelector ?? {}, pod.spec.tolerations ?? []]);
    let group = this.groups.get(key);
    if (!group) {
      const eligible = new Set<string>();
      let free = ZERO;
      for (const n of this.model.nodes) {
        if (!podMayRunOn(pod, n)) continue;
        eligible.add(n.name);
        free = add(free, clampZero(this.freeByNode.get(n.name) ?? ZERO));
      }
      const selector = Object.entries(pod.spec.nodeSelector ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const label = selector ? `pods with nodeSelector ${selector}` : 'pods without a node selector';
      group = { label, eligible, free };
      this.groups.set(key, group);
    }
    return group;
  }
}

function clampZero(r: Resources): Resources {
  return {
    cpuMillis: Math.max(0, r.cpuMillis),
    memoryBytes: Math.max(0, r.memoryBytes),
    pods: Math.max(0, r.pods),
  };
}

function isTerminalLike(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/**
 * Room that `surge` replacement nodes add while old ones drain, usable by any pod: each is assumed to be
 * like the pool's first node (replacements come from the same template).
 */
export function surgeCapacityOf(poolNodes: readonly NodeModel[], surge: number): Resources {
  if (surge === 0 || poolNodes.length === 0) return ZERO;
  const first = nodeAllocatable(poolNodes[0]!.node);
  return {
    cpuMillis: first.cpuMillis * surge,
    memoryBytes: first.memoryBytes * surge,
    pods: first.pods * surge,
  };
}

const capacityCache = new WeakMap<ClusterModel, CapacityModel>();
export function capacityModelOf(model: ClusterModel): CapacityModel {
  let c = capacityCache.get(model);
  if (!c) {
    c = new CapacityModel(model);
    capacityCache.set(model, c);
  }
  return c;
}

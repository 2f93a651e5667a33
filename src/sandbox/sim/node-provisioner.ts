/**
 * The sandbox's cloud: new machines from a pool's template and their deletion, as a node group API
 * (a managed instance group, an autoscaling group, a VM scale set) offers them. A created machine boots
 * for `timing.nodeBootMs` (or the request's own boot time), then its kubelet registers the Node (NotReady)
 * and, a moment later, posts it Ready; the kubelet fleet takes over from there as for any node.
 *
 * Faults (ctx.faults, `/sandbox/v1/faults`): `nodeCreateFailures` (creates that fail, per pool or "*"),
 * `nodesNeverJoin` (machines that boot but never register, per pool or "*"), `poolQuota` (the most nodes a
 * pool may hold, registered or booting).
 */
import type { Pod, Timer } from '../../core/index.ts';
import { isDaemonSetPod, isMirrorPod, isTerminalPod, tryParseVersion } from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { Actor, SandboxContext } from '../context.ts';
import { CONTROL_PLANE_LABEL, nodeObject, POOL_LABEL } from '../scenario/node-object.ts';
import type { NodePoolSpec } from '../scenario/scenario-types.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { KubeObject } from '../store/types.ts';

export type MachineState = 'booting' | 'joined' | 'never-joins';

export interface Machine {
  name: string;
  pool: string;
  version: string;
  state: MachineState;
  /** Labels the Node registers with, beyond the pool template's (what the request asked for). */
  labels: Record<string, string>;
  createdAt: string;
  /** When it registers (booting machines only). */
  joinsAt?: string;
}

export interface MachineRequest {
  pool: string;
  version: string;
  count: number;
  /** Extra labels on the new Nodes, e.g. the run id of the upgrade that asked for them. */
  labels?: Record<string, string>;
  /** Boot time of these machines, overriding timing.nodeBootMs. */
  bootMs?: number;
}

/**
 * One delete the sandbox carried out, kept for the life of the sandbox: whoever asked for it, a test can
 * tell afterwards whether a node went with workload pods still on it.
 */
export interface NodeDeletion {
  name: string;
  pool: string;
  time: string;
  deleted: 'node' | 'machine';
  /** `namespace/name` of the pods other than DaemonSet, mirror and finished pods that went with the node. */
  podsLeft: string[];
}

/** Why a create or delete was refused; `code` is the HTTP status the admin API answers with. */
export class ProvisionError extends Error {
  constructor(
    readonly code: 400 | 404 | 409 | 500,
    message: string,
  ) {
    super(message);
    this.name = 'ProvisionError';
  }
}

/** Where a machine's kubelet says it is not Ready yet, between registering and its first Ready status. */
const REGISTERING = {
  reason: 'KubeletNotReady',
  message: 'container runtime status check may not have completed yet',
} as const;

export class NodeProvisioner implements Actor {
  readonly name = 'node-provisioner';
  private readonly machines = new Map<string, { machine: Machine; timer?: Timer }>();
  private readonly deletions: NodeDeletion[] = [];
  private readonly templates: Map<string, NodePoolSpec>;
  /** The highest N given out as `pool-N` per pool: a name is never given twice, as a cloud's are not. */
  private readonly issued = new Map<string, number>();
  /** Position of the next new node among all nodes: picks its addresses and pod CIDR. */
  private nextIndex: number;

  constructor(
    private readonly ctx: SandboxContext,
    pools: readonly NodePoolSpec[],
  ) {
    this.templates = new Map(pools.map((p) => [p.name, p]));
    this.nextIndex = ctx.store.count(R.nodes);
    // The scenario's own nodes count as given: once they are deleted, their names are not given again.
    for (const pool of this.templates.keys()) this.issued.set(pool, this.highestInUse(pool));
  }

  start(): void {}

  stop(): void {
    for (const entry of this.machines.values()) entry.timer?.cancel();
  }

  /** The machines created here (of one pool when given), booting or joined, in creation order. */
  list(pool?: string): Machine[] {
    return [...this.machines.values()]
      .map((e) => e.machine)
      .filter((m) => pool === undefined || m.pool === pool)
      .map((m) => ({ ...m, labels: { ...m.labels } }));
  }

  /** Every delete carried out so far, in order. */
  deleted(): NodeDeletion[] {
    return this.deletions.map((d) => ({ ...d, podsLeft: [...d.podsLeft] }));
  }

  /** Starts `count` machines of the pool at `version`; throws ProvisionError when it cannot. */
  create(request: MachineRequest): Machine[] {
    const template = this.templates.get(request.pool);
    if (!template)
      throw new ProvisionError(
        404,
        `no node pool "${request.pool}" in this sandbox (pools: ${[...this.templates.keys()].join(', ') || 'none'})`,
      );
    if (!/^v\d+\.\d+\.\d+$/.test(request.version) || !tryParseVersion(request.version))
      throw new ProvisionError(400, `"${request.version}" is not a Kubernetes version like v1.31.4`);
    if (!Number.isInteger(request.count) || request.count < 1)
      throw new ProvisionError(400, `count must be a whole number ≥ 1, got ${request.count}`);
    const quota = this.ctx.faults.poolQuota.get(request.pool);
    const held = this.poolSize(request.pool);
    if (quota !== undefined && held + request.count > quota)
      throw new ProvisionError(
        409,
        `quota exceeded: pool ${request.pool} holds ${held} node(s) and its quota is ${quota}, so ${request.count} more cannot be created`,
      );
    if (takeOne(this.ctx.faults.nodeCreateFailures, request.pool))
      throw new ProvisionError(500, `injected fault: creating nodes in pool ${request.pool} failed`);

    const bootMs = request.bootMs ?? this.ctx.timing.nodeBootMs;
    const now = this.ctx.clock.now();
    const created: Machine[] = [];
    for (let i = 0; i < request.count; i++) {
      const neverJoins = takeOne(this.ctx.faults.nodesNeverJoin, request.pool);
      const machine: Machine = {
        name: this.nextName(request.pool),
        pool: request.pool,
        version: request.version,
        state: neverJoins ? 'never-joins' : 'booting',
        labels: { ...request.labels },
        createdAt: rfc3339(now),
        ...(neverJoins ? {} : { joinsAt: rfc3339(now + bootMs) }),
      };
      const index = this.nextIndex++;
      const timer = neverJoins
        ? undefined
        : this.ctx.clock.setTimer(bootMs, () => this.register(machine, template, index));
      this.machines.set(machine.name, { machine, timer });
      created.push({ ...machine, labels: { ...machine.labels } });
    }
    return created;
  }

  /**
   * Deletes a worker node, or a machine of ours still booting: the machine goes, its Node goes, and the pods
   * still bound to it go with it (the pod garbage collector's work for a node that no longer exists).
   */
  delete(name: string): { name: string; deleted: 'node' | 'machine' } {
    const entry = this.machines.get(name);
    const node = this.ctx.store.get(R.nodes, undefined, name);
    if (!node && !entry) throw new ProvisionError(404, `no node or machine named ${name}`);
    if (node?.metadata.labels?.[CONTROL_PLANE_LABEL] !== undefined)
      throw new ProvisionError(409, `${name} is a control-plane node: the sandbox deletes only workers`);
    entry?.timer?.cancel();
    this.machines.delete(name);
    const record = {
      name,
      pool: node?.metadata.labels?.[POOL_LABEL] ?? entry?.machine.pool ?? '',
      time: rfc3339(this.ctx.clock.now()),
    };
    if (!node) {
      this.deletions.push({ ...record, deleted: 'machine', podsLeft: [] });
      return { name, deleted: 'machine' };
    }
    this.ctx.store.remove(R.nodes, undefined, name);
    const podsLeft: string[] = [];
    for (const pod of this.ctx.store.podsOnNode(name)) {
      const p = pod as unknown as Pod;
      if (!isDaemonSetPod(p) && !isMirrorPod(p) && !isTerminalPod(p))
        podsLeft.push(`${pod.metadata.namespace}/${pod.metadata.name}`);
      this.ctx.store.remove(R.pods, pod.metadata.namespace, pod.metadata.name!);
    }
    this.deletions.push({ ...record, deleted: 'node', podsLeft });
    return { name, deleted: 'node' };
  }

  /** Nodes of the pool in the cluster plus machines of ours that will (or never will) join it. */
  private poolSize(pool: string): number {
    const nodes = this.ctx.store.list(R.nodes, undefined, (n) => n.metadata.labels?.[POOL_LABEL] === pool);
    const registered = new Set(nodes.map((n) => n.metadata.name));
    let pending = 0;
    for (const { machine } of this.machines.values())
      if (machine.pool === pool && !registered.has(machine.name)) pending++;
    return nodes.length + pending;
  }

  /** `pool-N`, N one past the highest in use by a node or given out before. */
  private nextName(pool: string): string {
    const next = Math.max(this.issued.get(pool) ?? 0, this.highestInUse(pool)) + 1;
    this.issued.set(pool, next);
    return `${pool}-${next}`;
  }

  /** The highest N of a `pool-N` node or machine there is now (0 for none). */
  private highestInUse(pool: string): number {
    const pattern = new RegExp(`^${pool.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`);
    let highest = 0;
    const names = [
      ...this.ctx.store.list(R.nodes).map((n) => n.metadata.name ?? ''),
      ...this.machines.keys(),
    ];
    for (const name of names) {
      const m = pattern.exec(name);
      if (m) highest = Math.max(highest, Number(m[1]));
    }
    return highest;
  }

  private register(machine: Machine, template: NodePoolSpec, index: number): void {
    const entry = this.machines.get(machine.name);
    if (entry?.machine !== machine) return;
    entry.timer = undefined;
    const zones = template.zones;
    const node: KubeObject = nodeObject({
      name: machine.name,
      index,
      zone: zones.length > 0 ? zones[index % zones.length] : undefined,
      pool: machine.pool,
      kubeletVersion: machine.version,
      capacity: template.capacity,
      instanceType: template.instanceType,
      labels: { ...template.labels, ...machine.labels },
      taints: template.taints,
      osImage: template.osImage,
      containerRuntime: template.containerRuntime,
      kernel: template.kernel,
      now: rfc3339(this.ctx.clock.now()),
    });
    const ready = node.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    Object.assign(ready, { status: 'False', ...REGISTERING });
    machine.state = 'joined';
    machine.joinsAt = undefined;
    // Note: the kubelet fleet sees the new Node and posts its first status, Ready, in its next boot pass.
    this.ctx.store.create(R.nodes, node);
  }
}

/** Consumes one from a per-pool (or "*") fault count; true when one was there. */
function takeOne(counts: Map<string, number>, pool: string): boolean {
  for (const key of [pool, '*']) {
    const left = counts.get(key) ?? 0;
    if (left > 0) {
      counts.set(key, left - 1);
      return true;
    }
  }
  return false;
}

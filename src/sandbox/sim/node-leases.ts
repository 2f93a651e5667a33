/**
 * The node heartbeat Leases a kubelet keeps in `kube-node-lease`: one per node, named after it, held by it
 * (`holderIdentity`), owned by the Node (so they go with it), `leaseDurationSeconds: 40`, and renewed every
 * timing.nodeHeartbeatMs (10 s) while the kubelet runs. Tools read them (`kubectl describe node` shows the
 * Lease's holder and renew time) even though the sandbox's node lifecycle controller reads liveness from
 * memory (see node-liveness.ts).
 *
 * Cost at 5,000 nodes: renewing is a store write per node per 10 s. Nodes are dealt into RENEW_SLOTS
 * slots and one timer renews one slot at a time, so the writes are spread over the interval as real
 * kubelets' are (each on its own phase) instead of 5,000 timers, or one burst of 5,000 writes.
 * While no watch is open on Leases, a slot's renewals are not written when they fall due but when anyone
 * next reads or writes a Lease (ObjectStore.beforeAccess), each Lease once with its latest renew time:
 * a GET or list shows what it would have shown, and an idle hour of a 5,000-node copy is not 1.8 million
 * writes nobody reads (they were two thirds of the copy's CPU while it waited).
 */
import type { Timer } from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { SandboxContext } from '../context.ts';
import type { KubeObject } from '../store/types.ts';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** The kubelet's nodeLeaseDurationSeconds default. */
export const NODE_LEASE_DURATION_SECONDS = 40;
const RENEW_SLOTS = 10;

export class NodeLeases {
  private readonly slots: Array<Set<string>> = Array.from({ length: RENEW_SLOTS }, () => new Set());
  private readonly slotOf = new Map<string, number>();
  private nextSlot = 0;
  private added = 0;
  private timer?: Timer;
  /** Per slot, the clock time of its latest renewal not written yet (see `catchUp`). */
  private readonly dueAt: Array<number | undefined> = Array.from({ length: RENEW_SLOTS }, () => undefined);
  private anyDue = false;
  private readonly stopCatchingUp: () => void;

  /** `isRenewing(node)` says whether the node's kubelet runs (only running kubelets renew). */
  constructor(
    private readonly ctx: SandboxContext,
    private readonly isRenewing: (nodeName: string) => boolean,
  ) {
    // Note: only a look at kube-node-lease (or at every namespace) needs the renewals: the engine's own run
    // Lease in kube-system, renewed every 10 s, would otherwise make them all every 10 s.
    this.stopCatchingUp = ctx.store.beforeAccess(R.leases, (namespace) => {
      if (namespace === undefined || namespace === NODE_LEASE_NAMESPACE) this.catchUp();
    });
  }

  /** Starts renewing the node's Lease, and writes it now (creating it when missing). */
  add(nodeName: string): void {
    this.catchUp();
    if (!this.slotOf.has(nodeName)) {
      const slot = this.added++ % RENEW_SLOTS;
      this.slots[slot]!.add(nodeName);
      this.slotOf.set(nodeName, slot);
    }
    this.renew(nodeName);
    this.timer ??= this.ctx.clock.setTimer(this.slotMs(), () => this.tick());
  }

  /** Stops renewing; the Lease itself goes with its Node (its owner), or is removed here when asked. */
  remove(nodeName: string, deleteLease: boolean): void {
    this.catchUp();
    const slot = this.slotOf.get(nodeName);
    if (slot !== undefined) this.slots[slot]!.delete(nodeName);
    this.slotOf.delete(nodeName);
    if (deleteLease) this.ctx.store.remove(R.leases, NODE_LEASE_NAMESPACE, nodeName);
  }

  stop(): void {
    this.stopCatchingUp();
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Writes the renew time, as the kubelet does every heartbeat; recreates a Lease someone deleted. */
  renew(nodeName: string, now = microTime(this.ctx.clock.now())): void {
    const renewed = this.ctx.store.mutate(R.leases, NODE_LEASE_NAMESPACE, nodeName, (lease) => {
      lease.spec = { ...lease.spec, holderIdentity: nodeName, renewTime: now };
    });
    if (renewed) return;
    const node = this.ctx.store.get(R.nodes, undefined, nodeName);
    if (!node) return;
    this.ctx.store.createOwned(R.leases, leaseFor(node, now));
  }

  private slotMs(): number {
    return Math.max(1, this.ctx.timing.nodeHeartbeatMs / RENEW_SLOTS);
  }

  private tick(): void {
    this.timer = undefined;
    const index = this.nextSlot;
    const slot = this.slots[index]!;
    this.nextSlot = (index + 1) % RENEW_SLOTS;
    if (this.ctx.store.isWatched(R.leases)) {
      this.catchUp();
      this.renewSlot(slot, microTime(this.ctx.clock.now()));
    } else {
      this.dueAt[index] = this.ctx.clock.now();
      this.anyDue = true;
      let renewing = 0;
      for (const name of slot) if (this.isRenewing(name)) renewing++;
      this.ctx.store.countFoldedWrites(renewing);
    }
    if (this.slotOf.size > 0) this.timer = this.ctx.clock.setTimer(this.slotMs(), () => this.tick());
  }

  /**
   * Writes the renewals put off while nobody watched (see the file's comment): every node of a slot whose
   * kubelet runs gets the slot's latest renew time.
   * IMPORTANT: call it before a node's kubelet stops or starts (and before a node is added or removed): it
   * asks whether each kubelet runs now, which must be what it was when the renewals fell due.
   */
  catchUp(): void {
    if (!this.anyDue) return;
    // Note: cleared first: renewing reads and writes Leases, which calls this again.
    this.anyDue = false;
    for (let i = 0; i < RENEW_SLOTS; i++) {
      const dueAt = this.dueAt[i];
      if (dueAt === undefined) continue;
      this.dueAt[i] = undefined;
      this.renewSlot(this.slots[i]!, microTime(dueAt));
    }
  }

  private renewSlot(slot: ReadonlySet<string>, renewTime: string): void {
    for (const name of slot) {
      if (!this.isRenewing(name)) continue;
      try {
        this.renew(name, renewTime);
      } catch {
        // Note: a Lease that cannot be written this time is renewed at the next heartbeat, as a kubelet retries.
      }
    }
  }
}

function leaseFor(node: KubeObject, renewTime: string): KubeObject {
  const name = node.metadata.name ?? '';
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid ?? '' }],
    },
    spec: { holderIdentity: name, leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS, renewTime },
  };
}

/** A Kubernetes MicroTime: RFC 3339 with microseconds, as Lease times are written. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

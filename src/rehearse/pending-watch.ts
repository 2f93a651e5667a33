/**
 * Capacity shortfalls a rehearsal run met: pods the copy's scheduler could not place (Pending, PodScheduled
 * False: Unschedulable) — the pods evicted from the nodes in flight found no room on the rest. Per pool in
 * flight when they were stranded: the most pods stranded at once, the CPU and memory they requested, and
 * how long any were. Read from the copy's own store, as its scheduler reports it.
 */
import { type Clock, type Pod, podRequests } from '../core/index.ts';
import { R } from '../sandbox/api/resources.ts';
import type { ObjectStore } from '../sandbox/store/object-store.ts';
import type { KubeObject, WatchEventType } from '../sandbox/store/types.ts';

export interface PendingShortfall {
  /** The pool whose nodes were in flight while pods were stranded. */
  pool: string;
  /** The most pods stranded at once, and what they requested together (CPU millicores, memory bytes). */
  pods: number;
  cpuMillis: number;
  memoryBytes: number;
  /** Clock ms with at least one pod stranded. */
  ms: number;
}

/** Stands for the pool when no node was in flight (pods stranded before or between the node phases). */
export const NO_POOL_IN_FLIGHT = '(no node in flight)';

interface Stranded {
  cpuMillis: number;
  memoryBytes: number;
}

export class PendingWatch {
  private readonly stranded = new Map<string, Stranded>();
  private readonly byPool = new Map<string, PendingShortfall>();
  /** Since when pods are stranded, and the pools in flight meanwhile; undefined while none is. */
  private open: { since: number; pools: Set<string> } | undefined;
  private readonly stop: () => void;

  /** `poolsInFlight`: the pools with a node in flight now. */
  constructor(
    store: ObjectStore,
    private readonly clock: Clock,
    private readonly poolsInFlight: () => readonly string[],
  ) {
    this.stop = store.watch(R.pods, { fromResourceVersion: store.resourceVersion }, (type, pod) =>
      this.onPod(type, pod),
    );
  }

  private onPod(type: WatchEventType, pod: KubeObject): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const isStranded = type !== 'DELETED' && isUnschedulable(pod);
    if (isStranded === this.stranded.has(key)) return;
    if (isStranded) {
      const r = podRequests(pod as unknown as Pod);
      this.stranded.set(key, { cpuMillis: r.cpuMillis, memoryBytes: r.memoryBytes });
      if (!this.open) this.open = { since: this.clock.now(), pools: new Set() };
      const pools = this.poolsInFlight();
      for (const pool of pools.length > 0 ? pools : [NO_POOL_IN_FLIGHT]) this.open.pools.add(pool);
      this.record();
    } else {
      this.stranded.delete(key);
      if (this.stranded.size === 0) this.close();
    }
  }

  /** The most stranded at once, for every pool of the open stretch. */
  private record(): void {
    let cpuMillis = 0;
    let memoryBytes = 0;
    for (const s of this.stranded.values()) {
      cpuMillis += s.cpuMillis;
      memoryBytes += s.memoryBytes;
    }
    for (const pool of this.open!.pools) {
      const entry = this.entry(pool);
      entry.pods = Math.max(entry.pods, this.stranded.size);
      entry.cpuMillis = Math.max(entry.cpuMillis, cpuMillis);
      entry.memoryBytes = Math.max(entry.memoryBytes, memoryBytes);
    }
  }

  private close(): void {
    if (!this.open) return;
    const ms = this.clock.now() - this.open.since;
    for (const pool of this.open.pools) this.entry(pool).ms += ms;
    this.open = undefined;
  }

  private entry(pool: string): PendingShortfall {
    let e = this.byPool.get(pool);
    if (!e) {
      e = { pool, pods: 0, cpuMillis: 0, memoryBytes: 0, ms: 0 };
      this.byPool.set(pool, e);
    }
    return e;
  }

  /** Stops watching; pods still stranded count until now. Longest first. */
  finish(): PendingShortfall[] {
    this.stop();
    this.close();
    return [...this.byPool.values()].sort((a, b) => b.ms - a.ms || a.pool.localeCompare(b.pool));
  }
}

function isUnschedulable(pod: KubeObject): boolean {
  if (pod.spec?.nodeName || pod.metadata.deletionTimestamp) return false;
  const conditions = (pod.status?.conditions ?? []) as Array<{
    type?: string;
    status?: string;
    reason?: string;
  }>;
  return conditions.some(
    (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
  );
}

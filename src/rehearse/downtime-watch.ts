/**
 * How long each single-replica Deployment or StatefulSet of the copy had no Ready replica during a
 * rehearsal run: its one pod is evicted before its replacement is Ready, so draining its node is an outage
 * no budget can prevent (a budget on one replica only blocks the drain). Read from the copy's own store,
 * as its controllers report `status.readyReplicas`.
 */
import type { Clock } from '../core/index.ts';
import { R } from '../sandbox/api/resources.ts';
import type { ObjectStore } from '../sandbox/store/object-store.ts';
import type { KubeObject } from '../sandbox/store/types.ts';

export interface Downtime {
  /** "Deployment namespace/name" */
  workload: string;
  ms: number;
}

export class DowntimeWatch {
  private readonly downSince = new Map<string, number>();
  private readonly totals = new Map<string, number>();
  private readonly stops: Array<() => void>;

  constructor(
    store: ObjectStore,
    private readonly clock: Clock,
  ) {
    const onChange = (_type: string, w: KubeObject) => this.onWorkload(w);
    this.stops = [R.deployments, R.statefulsets].map((resource) => {
      for (const w of store.list(resource)) if (isSingleReplica(w)) this.totals.set(keyOf(w), 0);
      return store.watch(resource, { fromResourceVersion: store.resourceVersion }, onChange);
    });
  }

  private onWorkload(w: KubeObject): void {
    const key = keyOf(w);
    if (!this.totals.has(key)) return;
    const ready = (w.status?.readyReplicas ?? 0) > 0;
    const since = this.downSince.get(key);
    if (!ready && since === undefined) this.downSince.set(key, this.clock.now());
    if (ready && since !== undefined) {
      this.downSince.delete(key);
      this.totals.set(key, this.totals.get(key)! + this.clock.now() - since);
    }
  }

  /** Stops watching; a workload still down counts until now. Only workloads that were down at all. */
  finish(): Downtime[] {
    for (const stop of this.stops) stop();
    const now = this.clock.now();
    for (const [key, since] of this.downSince) this.totals.set(key, this.totals.get(key)! + now - since);
    return [...this.totals.entries()]
      .filter(([, ms]) => ms > 0)
      .map(([workload, ms]) => ({ workload, ms }))
      .sort((a, b) => b.ms - a.ms || a.workload.localeCompare(b.workload));
  }
}

function isSingleReplica(w: KubeObject): boolean {
  return (w.spec?.replicas ?? 1) === 1;
}

function keyOf(w: KubeObject): string {
  return `${w.kind} ${w.metadata.namespace}/${w.metadata.name}`;
}

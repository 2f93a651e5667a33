import { Gauge } from 'prom-client';
import { R } from '../api/resources.ts';
import type { Actor, SandboxContext } from '../context.ts';
import type { KubeObject } from '../store/types.ts';
import { contain } from './contain-errors.ts';
import { controlPlaneMembers } from './control-plane-members.ts';
import { conditionsOf } from './node-status.ts';
import { WeightedHistogram } from './weighted-histogram.ts';

/** etcd's own buckets for backend commits: 1 ms doubling to 8.192 s (prometheus.ExponentialBuckets(0.001, 2, 14)). */
const COMMIT_BUCKETS = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);
/** A healthy member on a local SSD commits its backend in a few milliseconds. */
const HEALTHY_COMMIT_MS = 4;
/** etcd commits its backend batch every 100 ms when writes are pending (`--backend-batch-interval`). */
const BATCH_INTERVAL_MS = 100;

/**
 * The disks of the etcd members, as etcd's own metrics show them: every write to the cluster's store is
 * committed by each member's backend, in batches of at most one per 100 ms, and each commit is observed in
 * `etcd_disk_backend_commit_duration_seconds{pod="etcd-<node>"}`. A member on a slow disk (the
 * `etcdSlowDisk` fault: mean commit latency in ms, per node or "*") commits that slowly; a member whose
 * `etcd-<node>` mirror pod is not Ready (unhealthy, restarting for an upgrade) commits nothing.
 * Also `etcd_server_has_leader` and `etcd_server_is_leader` per member: the leader is the first Ready
 * member by name while a quorum of members is Ready.
 *
 * Sampled every `timing.trafficTickMs`, like the services' traffic.
 */
export class EtcdDisk implements Actor {
  readonly name = 'etcd-disk';
  private readonly commits: WeightedHistogram<'pod'>;
  /** The store's writeCount at the previous tick. */
  private writesBefore = 0;
  private lastTick = 0;
  private running = false;
  private timer?: { cancel(): void };

  constructor(private readonly ctx: SandboxContext) {
    const registry = ctx.metrics;
    this.commits = new WeightedHistogram(
      'etcd_disk_backend_commit_duration_seconds',
      'The latency distributions of commit called by backend.',
      ['pod'],
      COMMIT_BUCKETS,
      registry,
    );
    const members = () => this.members();
    for (const name of ['etcd_server_has_leader', 'etcd_server_is_leader']) registry.removeSingleMetric(name);
    new Gauge({
      name: 'etcd_server_has_leader',
      help: 'Whether or not a leader exists. 1 is existence, 0 is not.',
      labelNames: ['pod'],
      registers: [registry],
      collect() {
        this.reset();
        const all = members();
        const leader = leaderOf(all);
        for (const m of all) this.set({ pod: m.pod }, m.up && leader ? 1 : 0);
      },
    });
    new Gauge({
      name: 'etcd_server_is_leader',
      help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.',
      labelNames: ['pod'],
      registers: [registry],
      collect() {
        this.reset();
        const all = members();
        const leader = leaderOf(all);
        for (const m of all) this.set({ pod: m.pod }, m.pod === leader ? 1 : 0);
      },
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Note: the store's count, not a change listener: it includes the writes folded into fewer (the Lease
    // renewals nobody watched, node-leases.ts), which a real etcd would have committed one by one.
    this.writesBefore = this.ctx.store.writeCount;
    this.lastTick = this.ctx.clock.now();
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Commits the writes since the previous tick on every member that is up. */
  tick(): void {
    const now = this.ctx.clock.now();
    const elapsedMs = Math.max(0, now - this.lastTick);
    this.lastTick = now;
    const writes = this.ctx.store.writeCount - this.writesBefore;
    this.writesBefore += writes;
    const batches = Math.min(writes, Math.floor(elapsedMs / BATCH_INTERVAL_MS));
    if (batches === 0) return;
    for (const m of this.members()) {
      if (!m.up) continue;
      this.commits.observeAroundMean({ pod: m.pod }, this.commitMs(m.node) / 1000, batches);
    }
  }

  private commitMs(node: string): number {
    const slow = this.ctx.faults.etcdSlowDisk;
    return slow.get(node) ?? slow.get('*') ?? HEALTHY_COMMIT_MS;
  }

  private members(): Member[] {
    return controlPlaneMembers(this.ctx.store).map((node) => {
      const pod = `etcd-${node}`;
      return { node, pod, up: isReady(this.ctx.store.get(R.pods, 'kube-system', pod)) };
    });
  }

  private schedule(): void {
    this.timer = this.ctx.clock.setTimer(this.ctx.timing.trafficTickMs, () => {
      if (!this.running) return;
      contain(this.ctx, this.name, () => this.tick());
      this.schedule();
    });
  }
}

interface Member {
  node: string;
  pod: string;
  up: boolean;
}

/** The leader's pod name while a quorum (more than half the members) is up; none without quorum. */
function leaderOf(members: Member[]): string | undefined {
  const up = members.filter((m) => m.up);
  return up.length * 2 > members.length ? up[0]?.pod : undefined;
}

function isReady(pod: KubeObject | undefined): boolean {
  return conditionsOf<{ type: string; status: string }>(pod).some(
    (c) => c?.type === 'Ready' && c.status === 'True',
  );
}

import { R } from '../../src/sandbox/api/resources.ts';
import type { Sandbox } from '../../src/sandbox/sandbox.ts';
import type { KubeObject } from '../../src/sandbox/store/types.ts';

const CONTROL_PLANE_ROLE = 'node-role.kubernetes.io/control-plane';

/** One worker's cycle as the cluster saw it, in clock ms (undefined: not seen). */
export interface NodeCycle {
  node: string;
  cordonAt?: number;
  /** The first of its pods whose eviction was accepted (deletionTimestamp set). */
  firstEvictAt?: number;
  /** The last of its evicted pods gone from the store. */
  lastGoneAt?: number;
  evicted: number;
  /** Workloads with more than one pod on the node when it was cordoned (namespace/app ×count). */
  stacked: string[];
  /** Each eviction accepted on the node: the pod's workload (namespace/app) and when. */
  evictions: Array<{ workload: string; at: number }>;
  /** Ready went away: the reboot began. */
  downAt?: number;
  /** Ready again, at a new kubelet version. */
  upAt?: number;
  uncordonAt?: number;
}

/**
 * What every worker went through, from the cluster itself, the same way for every method (like
 * NodePhaseWatch): when it was cordoned, when its pods' evictions were accepted and when the last was gone,
 * when it went down and came back, when it was uncordoned. Printed by `compare-peers --timeline`, so the node
 * phase of each method splits into waiting for a slot, drain, reboot and verify + uncordon.
 */
export class NodeTimeline {
  private readonly cycles = new Map<string, NodeCycle>();
  private readonly versions = new Map<string, string>();
  private readonly stops: Array<() => void> = [];

  constructor(private readonly box: Sandbox) {
    const { store } = box.ctx;
    for (const node of store.list(R.nodes))
      this.versions.set(node.metadata.name ?? '', node.status?.nodeInfo?.kubeletVersion ?? '');
    const from = { fromResourceVersion: store.resourceVersion };
    this.stops.push(store.watch(R.nodes, from, (_t, node) => this.onNode(node)));
    this.stops.push(store.watch(R.pods, from, (type, pod) => this.onPod(type, pod)));
  }

  private now(): number {
    return this.box.ctx.clock.now();
  }

  private cycle(node: string): NodeCycle {
    let c = this.cycles.get(node);
    if (!c) {
      c = { node, evicted: 0, stacked: [], evictions: [] };
      this.cycles.set(node, c);
    }
    return c;
  }

  private onNode(node: KubeObject): void {
    if (node.metadata.labels?.[CONTROL_PLANE_ROLE] !== undefined) return;
    const name = node.metadata.name ?? '';
    const c = this.cycle(name);
    const ready = (node.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Ready')?.status;
    const version = node.status?.nodeInfo?.kubeletVersion ?? '';
    if (node.spec?.unschedulable === true && c.cordonAt === undefined) {
      c.cordonAt = this.now();
      c.stacked = this.stackedOn(name);
    } else if (node.spec?.unschedulable !== true && c.cordonAt !== undefined) c.uncordonAt ??= this.now();
    if (ready !== 'True' && c.cordonAt !== undefined) c.downAt ??= this.now();
    if (ready === 'True' && version !== this.versions.get(name)) c.upAt ??= this.now();
  }

  private stackedOn(node: string): string[] {
    const counts = new Map<string, number>();
    for (const pod of this.box.ctx.store.list(R.pods)) {
      if (pod.spec?.nodeName !== node || pod.metadata.deletionTimestamp) continue;
      const app = pod.metadata.labels?.app;
      if (app === undefined) continue;
      const key = `${pod.metadata.namespace}/${app}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].filter(([, n]) => n > 1).map(([k, n]) => `${k}×${n}`);
  }

  private onPod(type: string, pod: KubeObject): void {
    const node = pod.spec?.nodeName;
    if (!node || pod.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet')) return;
    const c = this.cycles.get(node);
    if (!c || c.cordonAt === undefined || c.downAt !== undefined) return;
    if (type === 'MODIFIED' && pod.metadata.deletionTimestamp) {
      c.firstEvictAt ??= this.now();
      const workload = `${pod.metadata.namespace}/${pod.metadata.labels?.app ?? pod.metadata.name}`;
      if (!c.evictions.some((e) => e.workload === workload && e.at === this.now()))
        c.evictions.push({ workload, at: this.now() });
    } else if (type === 'DELETED') {
      c.lastGoneAt = this.now();
      c.evicted++;
    }
  }

  finish(): NodeCycle[] {
    for (const stop of this.stops) stop();
    return [...this.cycles.values()]
      .filter((c) => c.cordonAt !== undefined)
      .sort((a, b) => a.cordonAt! - b.cordonAt!);
  }
}

/**
 * Per node, seconds from the phase's start: cordon, then cordon → first eviction accepted → last pod gone
 * (drain) → down → up (reboot) → uncordoned; and, per cordon, how long the slot it took had been free
 * (the previous uncordon it follows, when the cap was reached).
 */
export function renderTimeline(cycles: readonly NodeCycle[], cap: number): string {
  if (cycles.length === 0) return '(no node cordoned)';
  const t0 = cycles[0]!.cordonAt!;
  const s = (ms: number | undefined) => (ms === undefined ? '—' : (ms / 1000).toFixed(1));
  const d = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : b - a;
  const uncordons = cycles
    .map((c) => c.uncordonAt)
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b);
  const lines = [
    'node | cordon | →evict | drain | →down | reboot | →uncordon | cycle | slot idle | pods | stacked | evictions (when any waited)',
  ];
  const sums = { evict: 0, drain: 0, down: 0, reboot: 0, uncordon: 0, idle: 0 };
  for (const [i, c] of cycles.entries()) {
    // The i-th cordon beyond the cap takes the slot of the (i - cap)-th uncordon.
    const freed = i >= cap ? uncordons[i - cap] : undefined;
    const idle = d(freed, c.cordonAt);
    const parts = {
      evict: d(c.cordonAt, c.firstEvictAt),
      drain: d(c.firstEvictAt, c.lastGoneAt),
      down: d(c.lastGoneAt ?? c.cordonAt, c.downAt),
      reboot: d(c.downAt, c.upAt),
      uncordon: d(c.upAt, c.uncordonAt),
      idle,
    };
    for (const k of Object.keys(sums) as Array<keyof typeof sums>) sums[k] += parts[k] ?? 0;
    lines.push(
      [
        c.node,
        s(c.cordonAt! - t0),
        s(parts.evict),
        s(parts.drain),
        s(parts.down),
        s(parts.reboot),
        s(parts.uncordon),
        s(d(c.cordonAt, c.uncordonAt)),
        s(idle),
        String(c.evicted),
        c.stacked.join(' '),
        c.evictions.some((e) => e.at > c.cordonAt!)
          ? c.evictions.map((e) => `${e.workload.split('/')[1]}@${s(e.at - c.cordonAt!)}`).join(' ')
          : '',
      ].join(' | '),
    );
  }
  const n = cycles.length;
  lines.push(
    `mean | | ${s(sums.evict / n)} | ${s(sums.drain / n)} | ${s(sums.down / n)} | ${s(sums.reboot / n)} | ${s(sums.uncordon / n)} | | ${s(sums.idle / Math.max(1, n - cap))} |`,
  );
  return lines.join('\n');
}

import { Counter } from 'prom-client';
import { matchesLabelSelector } from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { Actor, FaultSet, SandboxContext } from '../context.ts';
import { TRAFFIC_ANNOTATION } from '../scenario/annotations.ts';
import { keyOf } from '../store/object-store.ts';
import type { KubeObject, StoreEvent } from '../store/types.ts';
import { contain, contained } from './contain-errors.ts';
import { conditionsOf } from './node-status.ts';
import { WeightedHistogram } from './weighted-histogram.ts';

/** A workload's synthetic traffic at full capacity, from its `sandbox.midflight.dev/traffic` annotation. */
export interface TrafficProfile {
  rps: number;
  latencyMs: number;
  errorRatio: number;
}

export interface ServiceHealth {
  /** Ready replicas over desired, capped at 1. */
  capacity: number;
  errorRatio: number;
  /** Mean latency of the requests served. */
  latencyMs: number;
}

/**
 * The traffic model (documented in docs/scenarios.md). Services are provisioned at twice their load, so:
 * - latency grows as the load per ready replica does: `latencyMs / capacity` (3 of 4 ready → ×1.33);
 * - errors stay at the base ratio until fewer than half the replicas are ready; below that the requests
 *   beyond what is left fail: `+ (1 − 2 × capacity)` (1 of 4 ready → +50%); none ready → every request fails;
 * - a version regression adds its error ratio and latency in proportion to the share of ready replicas on
 *   nodes whose kubelet runs the faulty version (2 of 4 on it, +8% errors → +4%).
 *
 * Worked example: rps 100, latency 40 ms, base errors 0.1%, 2 of 6 replicas ready: capacity 1/3, latency
 * 120 ms, errors 0.1% + 33.3% = 33.4%.
 */
export function serviceHealth(
  profile: TrafficProfile,
  desired: number,
  ready: number,
  regressedShare: Array<{ share: number; errorRatio: number; extraLatencyMs: number }> = [],
): ServiceHealth {
  const capacity = desired > 0 ? Math.min(1, ready / desired) : 0;
  if (ready <= 0) return { capacity: 0, errorRatio: 1, latencyMs: profile.latencyMs };
  let errorRatio = profile.errorRatio + Math.max(0, 1 - 2 * capacity);
  let latencyMs = profile.latencyMs / capacity;
  for (const r of regressedShare) {
    errorRatio += r.share * r.errorRatio;
    latencyMs += r.share * r.extraLatencyMs;
  }
  return { capacity, errorRatio: Math.min(1, errorRatio), latencyMs };
}

export interface TrafficSample extends ServiceHealth {
  namespace: string;
  service: string;
  desired: number;
  ready: number;
  requests: number;
  errors: number;
}

interface TrackedWorkload {
  key: string;
  namespace: string;
  name: string;
  kind: string;
  profile: TrafficProfile;
  selector: KubeObject['spec']['selector'];
  desired: number;
  pods: Map<string, KubeObject>;
  /** Fractions of a request and of an error carried to the next tick, so totals do not drift. */
  carryRequests: number;
  carryErrors: number;
}

const TRAFFIC_RESOURCES = new Set<string>([R.deployments, R.statefulsets, R.daemonsets]);
const REQUESTS_METRIC = 'http_requests_total';
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Synthetic service traffic: every `timing.trafficTickMs`, each workload with a traffic annotation serves
 * `rps × elapsed` requests whose errors and latency follow `serviceHealth`, exported as Prometheus metrics.
 * Cheap at scale: pods are indexed to their workload as they change, and
 * a tick only visits the pods of workloads that have traffic.
 */
export class TrafficGenerator implements Actor {
  readonly name = 'traffic';
  private readonly workloads = new Map<string, TrackedWorkload>();
  private readonly byNamespace = new Map<string, Set<TrackedWorkload>>();
  private stopWatching?: () => void;
  private timer?: { cancel(): void };
  private lastTick = 0;
  private lastSamples: TrafficSample[] = [];
  private readonly requests: Counter<'namespace' | 'service' | 'code'>;
  private readonly duration: WeightedHistogram<'namespace' | 'service'>;

  constructor(private readonly ctx: SandboxContext) {
    const registry = ctx.metrics;
    registry.removeSingleMetric(REQUESTS_METRIC);
    // Note: the names and labels an instrumented HTTP service exports (Prometheus' client conventions), with
    // the namespace and service each series is about, since one sandbox scrape serves every service.
    this.requests = new Counter({
      name: REQUESTS_METRIC,
      help: 'Synthetic requests served by each service, by HTTP status code.',
      labelNames: ['namespace', 'service', 'code'],
      registers: [registry],
    });
    this.duration = new WeightedHistogram(
      'http_request_duration_seconds',
      'Latency of the synthetic requests served by each service.',
      ['namespace', 'service'],
      BUCKETS,
      registry,
    );
  }

  start(): void {
    if (this.stopWatching) return;
    for (const resource of TRAFFIC_RESOURCES)
      for (const w of this.ctx.store.list(resource)) this.track(resource, w, false);
    // Note: one pass over all pods at start, instead of one per tracked workload.
    if (this.workloads.size > 0) for (const pod of this.ctx.store.list(R.pods)) this.indexPod(pod, undefined);
    this.stopWatching = this.ctx.store.onChange(
      contained(this.ctx, this.name, (event) => this.onChange(event)),
    );
    this.lastTick = this.ctx.clock.now();
    this.schedule();
  }

  stop(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** The samples of the last tick, one per service. */
  samples(): TrafficSample[] {
    return this.lastSamples;
  }

  /** Accounts for the traffic since the previous tick; called by the timer, and by tests directly. */
  tick(): TrafficSample[] {
    const now = this.ctx.clock.now();
    const elapsedSeconds = Math.max(0, now - this.lastTick) / 1000;
    this.lastTick = now;
    const samples: TrafficSample[] = [];
    for (const w of this.workloads.values()) samples.push(this.serve(w, elapsedSeconds));
    this.lastSamples = samples;
    return samples;
  }

  private serve(w: TrackedWorkload, elapsedSeconds: number): TrafficSample {
    let ready = 0;
    const onVersion = new Map<string, number>();
    const regressions = this.ctx.faults.versionRegressions;
    for (const pod of w.pods.values()) {
      if (!isServing(pod)) continue;
      ready++;
      if (regressions.length > 0) {
        const version = this.ctx.store.get(R.nodes, undefined, pod.spec.nodeName)?.status?.nodeInfo
          ?.kubeletVersion;
        if (version) onVersion.set(version, (onVersion.get(version) ?? 0) + 1);
      }
    }
    const desired = w.kind === 'DaemonSet' ? Math.max(w.desired, w.pods.size) : w.desired;
    const health = serviceHealth(w.profile, desired, ready, regressedShares(regressions, onVersion, ready));
    // Note: clients keep calling a service scaled to zero; with no endpoints left, every request fails.
    const total = w.profile.rps * elapsedSeconds + w.carryRequests;
    const requests = Math.floor(total);
    w.carryRequests = total - requests;
    const errorTotal = requests * health.errorRatio + w.carryErrors;
    const errors = Math.min(requests, Math.floor(errorTotal));
    w.carryErrors = errorTotal - errors;
    const labels = { namespace: w.namespace, service: w.name };
    if (requests - errors > 0) this.requests.inc({ ...labels, code: '200' }, requests - errors);
    if (errors > 0) this.requests.inc({ ...labels, code: '500' }, errors);
    this.duration.observeAroundMean(labels, health.latencyMs / 1000, requests);
    return { namespace: w.namespace, service: w.name, desired, ready, requests, errors, ...health };
  }

  private schedule(): void {
    this.timer = this.ctx.clock.setTimer(this.ctx.timing.trafficTickMs, () => {
      if (!this.stopWatching) return;
      contain(this.ctx, this.name, () => this.tick());
      this.schedule();
    });
  }

  private onChange(event: StoreEvent): void {
    if (event.resource === R.pods) {
      this.indexPod(event.type === 'DELETED' ? undefined : event.object, event.previous ?? event.object);
    } else if (TRAFFIC_RESOURCES.has(event.resource)) {
      if (event.type === 'DELETED') this.untrack(`${event.resource}|${keyOf(event.object)}`);
      else this.track(event.resource, event.object, true);
    }
  }

  private track(resource: string, w: KubeObject, scanPods: boolean): void {
    const key = `${resource}|${keyOf(w)}`;
    const profile = parseProfile(w.metadata.annotations?.[TRAFFIC_ANNOTATION]);
    if (!profile) {
      this.untrack(key);
      return;
    }
    const desired: number =
      w.kind === 'DaemonSet' ? (w.status?.desiredNumberScheduled ?? 0) : (w.spec?.replicas ?? 1);
    const existing = this.workloads.get(key);
    if (existing && JSON.stringify(existing.selector) === JSON.stringify(w.spec?.selector)) {
      existing.profile = profile;
      existing.desired = desired;
      return;
    }
    this.untrack(key);
    const tracked: TrackedWorkload = {
      key,
      namespace: w.metadata.namespace!,
      name: w.metadata.name!,
      kind: w.kind ?? '',
      profile,
      selector: w.spec?.selector ?? {},
      desired,
      pods: new Map(),
      carryRequests: 0,
      carryErrors: 0,
    };
    this.workloads.set(key, tracked);
    const set = this.byNamespace.get(tracked.namespace) ?? new Set();
    this.byNamespace.set(tracked.namespace, set);
    set.add(tracked);
    if (scanPods) {
      for (const pod of this.ctx.store.list(R.pods, tracked.namespace)) {
        if (matchesLabelSelector(tracked.selector, pod.metadata.labels ?? {}))
          tracked.pods.set(keyOf(pod), pod);
      }
    }
  }

  private untrack(key: string): void {
    const w = this.workloads.get(key);
    if (!w) return;
    this.workloads.delete(key);
    this.byNamespace.get(w.namespace)?.delete(w);
  }

  private indexPod(pod: KubeObject | undefined, previous: KubeObject | undefined): void {
    const ref = pod ?? previous;
    if (!ref) return;
    const tracked = this.byNamespace.get(ref.metadata.namespace ?? '');
    if (!tracked || tracked.size === 0) return;
    const key = keyOf(ref);
    for (const w of tracked) {
      if (pod && matchesLabelSelector(w.selector, pod.metadata.labels ?? {})) w.pods.set(key, pod);
      else w.pods.delete(key);
    }
  }
}

function regressedShares(
  regressions: FaultSet['versionRegressions'],
  readyByVersion: Map<string, number>,
  ready: number,
): Array<{ share: number; errorRatio: number; extraLatencyMs: number }> {
  if (ready === 0) return [];
  return regressions
    .filter((r) => (readyByVersion.get(r.kubeletVersion) ?? 0) > 0)
    .map((r) => ({
      share: readyByVersion.get(r.kubeletVersion)! / ready,
      errorRatio: r.errorRatio,
      extraLatencyMs: r.extraLatencyMs,
    }));
}

/** A pod behind its Service's endpoints: Ready and not terminating. */
function isServing(pod: KubeObject): boolean {
  if (pod.metadata.deletionTimestamp || !pod.spec?.nodeName) return false;
  return conditionsOf<{ type: string; status: string }>(pod).some(
    (c) => c?.type === 'Ready' && c.status === 'True',
  );
}

function parseProfile(text: string | undefined): TrafficProfile | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<TrafficProfile>;
    if (typeof v.rps !== 'number' || !(v.rps >= 0)) return undefined;
    return { rps: v.rps, latencyMs: v.latencyMs ?? 20, errorRatio: v.errorRatio ?? 0 };
  } catch {
    return undefined;
  }
}

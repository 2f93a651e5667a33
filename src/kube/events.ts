import { hostname } from 'node:os';
import { type CoreV1Event, type KubeConfig, PatchStrategy } from '@kubernetes/client-node';
import { type Clock, RealClock } from '../core/index.ts';
import { isNotFound } from './api-failure.ts';
import { requestText } from './client.ts';
import { withRetries } from './retry.ts';

export interface InvolvedObject {
  kind: 'Node' | 'Pod' | string;
  name: string;
  /** Empty for cluster-scoped objects such as Nodes (their events go to `default`, as the kubelet's do). */
  namespace?: string;
  /** Ignored for Nodes: their events carry the node's name as uid, as the kubelet's do. */
  uid?: string;
  apiVersion?: string;
}

export interface EventSpec {
  involvedObject: InvolvedObject;
  /** CamelCase, short: `DrainBlocked`, `UpgradeStarted`. */
  reason: string;
  message: string;
  /** Default `Normal`. */
  type?: 'Normal' | 'Warning';
  /** Default `midflight`. */
  component?: string;
  /** Labels of the Event itself, e.g. the run id, so `kubectl get events -l …` finds a run's events. */
  labels?: Record<string, string>;
}

export interface EventRecorderOptions {
  /** Stamps firstTimestamp/lastTimestamp. Default wall time. */
  clock?: Clock;
  /** The same event recorded again within this window bumps count instead of adding an Event. Default 10 min. */
  aggregateWindowMs?: number;
  /** `source.host` / `reportingInstance`. Default the host name. */
  host?: string;
}

export interface RecordedEvent {
  namespace: string;
  name: string;
  count: number;
}

interface CachedEvent extends RecordedEvent {
  lastAt: number;
}

/**
 * Writes core/v1 Events about what a run does (step transitions, "drain blocked by budget x"), as
 * client-go's recorder does: the same involved object + reason + message + type recorded again within the
 * window updates the existing Event's count and lastTimestamp instead of creating a new one.
 * Throws KubeOperationError when the API keeps failing; callers should treat events as best effort.
 *
 * Note: written as plain JSON (requestText): a run records a few events per node, and client-node's typed
 * encoding and decoding of each Event cost more than the rest of its request; the answer (the Event as
 * stored) is not parsed, since the recorder knows the name it gave it.
 */
export class EventRecorder {
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly host: string;
  private readonly cache = new Map<string, CachedEvent>();
  /** Clock time of the last sweep of expired entries. */
  private sweptAt = Number.NEGATIVE_INFINITY;
  private sequence = 0;

  constructor(
    private readonly kc: KubeConfig,
    options: EventRecorderOptions = {},
  ) {
    this.clock = options.clock ?? new RealClock();
    this.windowMs = options.aggregateWindowMs ?? 600_000;
    this.host = options.host ?? hostname();
  }

  async record(spec: EventSpec): Promise<RecordedEvent> {
    const now = this.clock.now();
    const type = spec.type ?? 'Normal';
    const { involvedObject: obj } = spec;
    const key = [
      obj.kind,
      obj.namespace ?? '',
      obj.name,
      obj.uid ?? '',
      type,
      spec.reason,
      spec.message,
    ].join('\u0000');
    const cutoff = now - this.windowMs;
    this.evictOlderThan(cutoff);
    let cached = this.cache.get(key);
    if (cached && cached.lastAt < cutoff) {
      this.cache.delete(key);
      cached = undefined;
    }
    if (cached) {
      const count = cached.count + 1;
      try {
        await withRetries(this.clock, `update event ${cached.namespace}/${cached.name}`, () =>
          requestText(this.kc, 'PATCH', eventPath(cached.namespace, cached.name), {
            body: { count, lastTimestamp: new Date(now).toISOString() },
            contentType: PatchStrategy.MergePatch,
          }),
        );
        Object.assign(cached, { count, lastAt: now });
        return { namespace: cached.namespace, name: cached.name, count };
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.cache.delete(key); // the Event expired (TTL) or was deleted: start a new one
      }
    }
    const created = await this.create(spec, type, now);
    this.cache.set(key, { ...created, lastAt: now });
    return created;
  }

  private async create(spec: EventSpec, type: string, now: number): Promise<RecordedEvent> {
    const { involvedObject: obj } = spec;
    const component = spec.component ?? 'midflight';
    const namespace = obj.namespace || 'default';
    // Note: the same naming as client-go (`<object>.<hex nanoseconds>`), plus a sequence so two events in
    // the same millisecond do not collide.
    const nanos = BigInt(Math.floor(now)) * 1_000_000n + BigInt(this.sequence++ % 1_000_000);
    const name = `${obj.name}.${nanos.toString(16)}`;
    const timestamp = new Date(now).toISOString();
    const body: EventJson = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace, ...(spec.labels ? { labels: spec.labels } : {}) },
      involvedObject: {
        kind: obj.kind,
        name: obj.name,
        namespace: obj.namespace || undefined,
        // Note: kubelets record node events with the node's NAME as uid, and `kubectl describe node` searches
        // by that; an event with the real uid would not show there.
        uid: obj.kind === 'Node' ? obj.name : obj.uid,
        apiVersion: obj.apiVersion ?? 'v1',
      },
      reason: spec.reason,
      message: spec.message,
      type,
      source: { component, host: this.host },
      reportingComponent: component,
      reportingInstance: this.host,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      count: 1,
    };
    await withRetries(this.clock, `record event ${spec.reason} on ${obj.kind} ${obj.name}`, () =>
      requestText(this.kc, 'POST', eventPath(namespace), { body }),
    );
    return { namespace, name, count: 1 };
  }

  /**
   * Forgets entries past the window, sweeping at most once per window: a sweep reads the whole cache, which
   * holds every event of the last window (thousands in a large run), and a lookup already ignores an
   * expired entry, so sweeping on every record only cost time.
   */
  private evictOlderThan(cutoff: number): void {
    if (cutoff - this.sweptAt < this.windowMs) return;
    this.sweptAt = cutoff;
    for (const [key, entry] of this.cache) if (entry.lastAt < cutoff) this.cache.delete(key);
  }
}

/** An Event as the API reads it: client-node's model, but timestamps are text (RFC 3339). */
type EventJson = Omit<CoreV1Event, 'firstTimestamp' | 'lastTimestamp'> & {
  firstTimestamp: string;
  lastTimestamp: string;
};

function eventPath(namespace: string, name?: string): string {
  const events = `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
  return name === undefined ? events : `${events}/${encodeURIComponent(name)}`;
}

const recorders = new WeakMap<KubeConfig, EventRecorder>();

/**
 * Records an Event through one shared recorder per KubeConfig (so repeats aggregate across callers).
 * Note: the first call's options configure that recorder; build an EventRecorder to choose them explicitly.
 */
export function recordEvent(
  kc: KubeConfig,
  spec: EventSpec,
  options: EventRecorderOptions = {},
): Promise<RecordedEvent> {
  let recorder = recorders.get(kc);
  if (!recorder) {
    recorder = new EventRecorder(kc, options);
    recorders.set(kc, recorder);
  }
  return recorder.record(spec);
}

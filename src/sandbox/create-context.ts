import { Registry } from 'prom-client';
import { type Clock, RealClock } from '../core/clock.ts';
import { DEFAULT_TIMING, emptyFaults, type SandboxContext, type SimTiming } from './context.ts';
import { rfc3339 } from './store/deletion.ts';
import { ObjectStore } from './store/object-store.ts';
import type { KubeObject } from './store/types.ts';

export interface CreateSandboxContextOptions {
  /** Default: the wall clock. */
  clock?: Clock;
  /** Overrides of DEFAULT_TIMING. */
  timing?: Partial<SimTiming>;
  /** Seed of ctx.random(); the same seed replays the same choices. Default 1. */
  seed?: number;
  /** Changes kept per resource for watches to resume from (see ObjectStore). */
  historySize?: number;
}

/** A fresh SandboxContext: an empty store, no faults, a new metrics registry, seeded randomness. */
export function createSandboxContext(options: CreateSandboxContextOptions = {}): SandboxContext {
  const clock = options.clock ?? new RealClock();
  const store = new ObjectStore(clock, { historySize: options.historySize });
  const ctx: SandboxContext = {
    clock,
    store,
    timing: { ...DEFAULT_TIMING, ...options.timing },
    faults: emptyFaults(),
    metrics: new Registry(),
    violations: [],
    random: seededRandom(options.seed ?? 1),
    recordEvent: eventRecorder(store, clock),
  };
  return ctx;
}

/** mulberry32: small, fast and good enough for simulation choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes core/v1 Events the way client-go's event recorder does: one Event per involved object, reason,
 * message and source, whose `count` and `lastTimestamp` grow when it repeats. Cluster-scoped objects' events
 * go to the `default` namespace.
 */
function eventRecorder(store: ObjectStore, clock: Clock): SandboxContext['recordEvent'] {
  const names = new Map<string, string>();
  let sequence = 0;
  return (involved, type, reason, message, source) => {
    const m = involved.metadata;
    const namespace = m.namespace || 'default';
    const aggregateKey = [
      namespace,
      m.uid ?? `${involved.kind}/${m.name}`,
      reason,
      message,
      source,
      type,
    ].join('\u0000');
    const now = rfc3339(clock.now());
    const existing = names.get(aggregateKey);
    if (existing) {
      const updated = store.mutate('events', namespace, existing, (draft) => {
        draft.count = ((draft.count as number | undefined) ?? 1) + 1;
        draft.lastTimestamp = now;
      });
      if (updated) return;
    }
    sequence = (sequence + 1) % 0x10000;
    const name = `${m.name ?? 'unknown'}.${(clock.now() * 0x10000 + sequence).toString(16).padStart(16, '0')}`;
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: involved.apiVersion,
        kind: involved.kind,
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resourceVersion: m.resourceVersion,
      },
      reason,
      message,
      source: { component: source, ...(involved.kind === 'Node' ? { host: m.name } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      eventTime: null,
      count: 1,
      type,
      reportingComponent: source,
      reportingInstance: '',
    };
    try {
      store.create('events', event);
      // Bounded memory: forgetting old keys only means a later repeat starts a new Event.
      if (names.size >= 10_000) names.clear();
      names.set(aggregateKey, name);
    } catch {
      // Note: a name collision only drops this one event; events are best-effort, as in Kubernetes.
    }
  };
}

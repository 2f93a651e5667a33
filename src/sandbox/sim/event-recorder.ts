/**
 * core/v1 Events written the way client-go's legacy event recorder writes them: one Event per involved
 * object, type, reason, message and source, whose `count` and `lastTimestamp` grow when it repeats (the
 * EventCorrelator's aggregation of identical events), and which expire an hour after their last update
 * (the API server's default `--event-ttl`), measured on the sandbox clock.
 *
 * Cost, as the sandbox writes an Event for each step of each pod it starts or stops (a 5,000-node upgrade
 * writes hundreds of thousands): an Event is built once and handed to the store without a copy; the
 * aggregation index and the expiry queue are plain in-memory structures; expiry is one timer armed for the
 * oldest Event, never a scan of the store.
 */
import type { Clock, Timer } from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { EventDetails, SandboxContext } from '../context.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { KubeObject } from '../store/types.ts';

/** How long an Event lives after its last update: kube-apiserver's `--event-ttl` default. */
export const EVENT_TTL_MS = 60 * 60_000;
/** Aggregation keys kept; forgetting one only means a later repeat starts a new Event. */
const MAX_AGGREGATION_KEYS = 10_000;
/** Events removed per expiry timer callback, so a burst of old Events does not block the event loop. */
const EXPIRY_BATCH = 5_000;
/**
 * Events kept at most; past it the oldest go before their hour is up. A 5,000-node upgrade writes about a
 * million Events within the hour (seven per pod moved); a real cluster keeps them in etcd, the sandbox in
 * its memory, which this bounds (about 100 MiB).
 */
export const MAX_EVENTS = 100_000;

interface Expiring {
  namespace: string;
  name: string;
  key: string;
  expiresAt: number;
}

export function createEventRecorder(
  store: ObjectStore,
  clock: Clock,
  ttlMs = EVENT_TTL_MS,
  maxEvents = MAX_EVENTS,
): SandboxContext['recordEvent'] {
  const names = new Map<string, string>();
  const queue: Expiring[] = [];
  let head = 0;
  let timer: Timer | undefined;
  let sequence = 0;

  const arm = () => {
    if (timer || head >= queue.length) return;
    timer = clock.setTimer(Math.max(0, queue[head]!.expiresAt - clock.now()), expire);
  };

  // Note: an aggregated Event lives on: its entry goes back in the queue with its new expiry instead of
  // being moved when it repeats, so a repeat costs nothing here.
  const expire = () => {
    timer = undefined;
    const now = clock.now();
    let removed = 0;
    while (head < queue.length && queue[head]!.expiresAt <= now && removed < EXPIRY_BATCH) {
      const entry = queue[head++]!;
      const event = store.get(R.events, entry.namespace, entry.name);
      if (!event) continue;
      const last = Date.parse(String(event.lastTimestamp ?? '')) || 0;
      if (last + ttlMs > now) {
        queue.push({ ...entry, expiresAt: last + ttlMs });
        continue;
      }
      store.remove(R.events, entry.namespace, entry.name);
      if (names.get(entry.key) === entry.name) names.delete(entry.key);
      removed++;
    }
    compact();
    arm();
  };

  const compact = () => {
    if (head > 1_024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  };

  return (involved, type, reason, message, source, details: EventDetails = {}) => {
    const m = involved.metadata;
    const namespace = m.namespace || 'default';
    const uid = details.involvedUid ?? m.uid;
    const key = [
      namespace,
      involved.kind,
      m.name,
      uid,
      details.fieldPath,
      reason,
      message,
      source,
      type,
    ].join('\u0000');
    const nowMs = clock.now();
    const now = rfc3339(nowMs);
    const existing = names.get(key);
    if (existing) {
      const updated = store.mutate(R.events, namespace, existing, (draft) => {
        draft.count = ((draft.count as number | undefined) ?? 1) + 1;
        draft.lastTimestamp = now;
      });
      if (updated) return;
    }
    // `<object>.<hex nanoseconds>` as client-go names them; the sequence fills the nanoseconds, which the
    // millisecond clock leaves empty. IMPORTANT: BigInt, as nanoseconds since 1970 exceed 2^53.
    sequence = (sequence + 1) % 1_000_000;
    const name = `${m.name ?? 'unknown'}.${(BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(sequence)).toString(16)}`;
    const involvedObject: Record<string, unknown> = {
      kind: involved.kind,
      namespace: m.namespace,
      name: m.name,
      uid,
      apiVersion: involved.apiVersion,
    };
    if (details.involvedUid === undefined && m.resourceVersion)
      involvedObject.resourceVersion = m.resourceVersion;
    if (details.fieldPath) involvedObject.fieldPath = details.fieldPath;
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject,
      reason,
      message,
      source: details.host ? { component: source, host: details.host } : { component: source },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: source,
      reportingInstance: details.host ?? '',
    };
    try {
      store.createOwned(R.events, event);
    } catch {
      // Note: a name collision only drops this one event; events are best-effort, as in Kubernetes.
      return;
    }
    if (names.size >= MAX_AGGREGATION_KEYS) names.clear();
    names.set(key, name);
    queue.push({ namespace, name, key, expiresAt: nowMs + ttlMs });
    // Note: the queue may also hold Events already gone (deleted by a client): the bound errs on the safe side.
    while (queue.length - head > maxEvents) {
      const oldest = queue[head++]!;
      store.remove(R.events, oldest.namespace, oldest.name);
      if (names.get(oldest.key) === oldest.name) names.delete(oldest.key);
    }
    compact();
    arm();
  };
}

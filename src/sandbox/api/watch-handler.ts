import { Counter, type Registry } from 'prom-client';
import type { Timer } from '../../core/index.ts';
import { badRequest, StatusError } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import type { ApiRequest } from './api-request.ts';
import { renderObjectOnce } from './rendered-objects.ts';
import { selectionFromQuery } from './selection.ts';
import { columnDefinitions, parseIncludeObject, tableRow, wantsTable } from './table-printer.ts';
import { type WatchBacklog, WatchOutbox } from './watch-outbox.ts';

/** Clock time between BOOKMARK events when a client asks for them. */
const BOOKMARK_INTERVAL_MS = 60_000;

/**
 * Default bytes of live events a watch may hold for a client that reads slower than they come. Generous on
 * purpose: in a large rehearsal the client shares the server's event loop, and one controller sync can
 * create thousands of pods before the client gets a turn to read (5,000 daemon pods are about 15 MiB).
 */
export const DEFAULT_WATCH_BACKLOG_BYTES = 64 * 1024 * 1024;

/** One open watch stream, as the server sees it. */
export interface OpenWatch {
  resource: string;
  /** Ends the stream (the server is closing). */
  end(): void;
  backlog(): WatchBacklog;
}

/**
 * The open watch streams: so the server can end them all when it closes, and count the ones it had to
 * end because their client fell too far behind (kube-apiserver's apiserver_terminated_watchers_total).
 */
export class WatchRegistry {
  readonly open = new Set<OpenWatch>();
  private readonly terminated: Counter<'resource'>;

  constructor(
    registry: Registry,
    /** Bytes of live events one watch may hold before its client counts as gone; see WatchOutbox. */
    readonly maxQueuedBytes = DEFAULT_WATCH_BACKLOG_BYTES,
  ) {
    this.terminated =
      (registry.getSingleMetric(TERMINATED_METRIC) as Counter<'resource'> | undefined) ??
      new Counter({
        name: TERMINATED_METRIC,
        help: 'Counter of watchers closed due to unresponsiveness broken by resource type.',
        labelNames: ['resource'],
        registers: [registry],
      });
  }

  noteTerminated(resource: string): void {
    this.terminated.inc({ resource });
  }

  endAll(): void {
    for (const watch of [...this.open]) watch.end();
  }
}

const TERMINATED_METRIC = 'apiserver_terminated_watchers_total';

function parseResourceVersion(value: string | null): number {
  if (value === null || value === '') return 0;
  if (!/^\d+$/.test(value)) throw badRequest(`invalid resource version: ${JSON.stringify(value)}`);
  return Number(value);
}

function parseTimeoutSeconds(value: string | null, random: () => number): number {
  if (value !== null && value !== '') {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw badRequest(`timeoutSeconds: Invalid value: "${value}"`);
    if (n > 0) return n;
  }
  // Like the real server's minRequestTimeout × (1 + rand): clients must expect streams to end and resume.
  return 300 * (1 + random());
}

/**
 * A watch stream (§4 of the reference): 200, chunked, one JSON event per line. A too-old resourceVersion is
 * one ERROR event carrying the 410 Expired Status, then the end of the stream; an unparseable one is a 400.
 * Events are written as fast as the client reads them (see WatchOutbox); a client that falls more than
 * `maxQueuedBytes` of live events behind gets a 410 Expired ERROR and the end of its stream, as
 * kube-apiserver closes an unresponsive watcher, and resumes or relists as after any 410.
 * The stream also ends after timeoutSeconds, when the client goes away, or when the server closes.
 *
 * Note: timeoutSeconds and bookmarks both run on the sandbox clock, on purpose: that clock is the cluster's
 * time as every client sees it (timestamps, leases, pod start-up), so at 60× a 300 s watch ends after 300
 * cluster seconds having carried its 5 bookmarks, as it would on a real cluster; on wall time it would
 * carry 300. Under a virtual clock a watch ends only when the test advances time (or the server closes).
 */
export function handleWatch(r: ApiRequest, watches: WatchRegistry): void {
  const fromRv = parseResourceVersion(r.query.get('resourceVersion'));
  const selection = selectionFromQuery(r.key, r.query);
  const bookmarks = ['true', '1'].includes(r.query.get('allowWatchBookmarks') ?? '');
  const timeoutMs = parseTimeoutSeconds(r.query.get('timeoutSeconds'), r.ctx.random) * 1000;
  const nameFilter = r.target.name;
  const filter =
    nameFilter === undefined
      ? selection.filter
      : (obj: KubeObject) => obj.metadata.name === nameFilter && (!selection.filter || selection.filter(obj));
  const table = wantsTable(r.req.headers.accept);
  const include = parseIncludeObject(r.query.get('includeObject'));
  const { res, ctx, info } = r;

  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();

  let sentColumns = false;
  // Note: the store tells every watch of a change one after another, so the change is rendered once.
  const encode = (type: string, obj: KubeObject): string => {
    if (!table) return `{"type":"${type}","object":${renderObjectOnce(obj, info)}}\n`;
    const object = {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: obj.metadata.resourceVersion },
      columnDefinitions: sentColumns ? [] : columnDefinitions(r.key),
      rows: [tableRow(r.key, obj, ctx.clock.now(), include)],
    };
    sentColumns = true;
    return `${JSON.stringify({ type, object })}\n`;
  };
  const bookmarkLine = () =>
    `${JSON.stringify({
      type: 'BOOKMARK',
      object: {
        kind: info.kind,
        apiVersion: r.apiVersion,
        metadata: { resourceVersion: String(ctx.store.resourceVersion) },
      },
    })}\n`;

  let stop: (() => void) | undefined;
  let bookmarkTimer: Timer | undefined;
  let closed = false;
  const outbox = new WatchOutbox(res, {
    maxQueuedBytes: watches.maxQueuedBytes,
    onOverflow: () => {
      watches.noteTerminated(info.resource);
      finish('behind');
    },
  });
  const timeout = ctx.clock.setTimer(timeoutMs, () => finish('timeout'));

  const scheduleBookmark = () => {
    bookmarkTimer = ctx.clock.setTimer(BOOKMARK_INTERVAL_MS, () => {
      if (closed) return;
      outbox.pushLive(bookmarkLine());
      scheduleBookmark();
    });
  };

  /**
   * Ends the stream. IMPORTANT: a closing bookmark carries the store's resourceVersion, so it is sent only
   * when every queued event before it went out; otherwise the client would resume past events it never got.
   */
  function finish(why: 'timeout' | 'server' | 'client' | 'behind' | 'expired'): void {
    if (closed) return;
    closed = true;
    stop?.();
    bookmarkTimer?.cancel();
    timeout.cancel();
    watches.open.delete(watch);
    const caughtUp = outbox.empty;
    outbox.stop();
    if (res.destroyed || res.writableEnded) return;
    if (why === 'behind') {
      const status = new StatusError(
        410,
        'Expired',
        `too old resource version: the watcher fell more than ${watches.maxQueuedBytes} bytes of events behind and was closed; watch again from the last resourceVersion received, or list`,
      );
      res.write(`${JSON.stringify({ type: 'ERROR', object: status.toBody() })}\n`);
    } else if (bookmarks && caughtUp && (why === 'timeout' || why === 'server')) {
      res.write(bookmarkLine());
    }
    res.end();
  }
  const watch: OpenWatch = {
    resource: info.resource,
    end: () => finish('server'),
    backlog: () => outbox.backlog(),
  };
  watches.open.add(watch);
  res.on('close', () => finish('client'));

  // Note: the store replays synchronously inside watch(); those events are the initial replay (encoded when
  // written, not counted against the limit), everything after is live.
  let replaying = true;
  try {
    stop = ctx.store.watch(
      r.key,
      { namespace: r.target.namespace, fromResourceVersion: fromRv, filter, nodeName: selection.nodeName },
      (type, obj) => {
        if (closed) return;
        if (replaying && !table) outbox.pushReplay(() => encode(type, obj));
        else outbox.pushLive(encode(type, obj));
      },
    );
  } catch (err) {
    if (!(err instanceof StatusError)) throw err;
    res.write(`${JSON.stringify({ type: 'ERROR', object: err.toBody() })}\n`);
    finish('expired');
    return;
  }
  replaying = false;
  if (closed) {
    stop();
    return;
  }
  outbox.flush();
  if (bookmarks) scheduleBookmark();
}

import type { Timer } from '../../core/clock.ts';
import { badRequest, StatusError } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import { type ApiRequest, serializeObject } from './api-request.ts';
import type { ResourceInfo } from './resources.ts';
import { selectionFromQuery } from './selection.ts';
import { columnDefinitions, parseIncludeObject, tableRow, wantsTable } from './table-printer.ts';

/** Clock time between BOOKMARK events when a client asks for them. */
const BOOKMARK_INTERVAL_MS = 60_000;

/** Open watch streams, so the server can end them all when it closes. */
export type WatchRegistry = Set<() => void>;

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
 * The JSON of the object last sent to a watch. The store tells its watchers of a change one after another,
 * so every stream watching the resource after the first one reuses the text. Exact because stored objects are
 * never changed in place.
 */
let rendered: { obj: KubeObject; info: ResourceInfo; text: string } | undefined;
function lastRendered(obj: KubeObject, info: ResourceInfo): string {
  if (rendered?.obj !== obj || rendered.info !== info)
    rendered = { obj, info, text: serializeObject(obj, info) };
  return rendered.text;
}

/**
 * A watch stream (§4 of the reference): 200, chunked, one JSON event per line. A too-old resourceVersion is
 * one ERROR event carrying the 410 Expired Status, then the end of the stream; an unparseable one is a 400.
 * The stream ends after timeoutSeconds of wall time, when the client goes away, or when the server closes.
 */
export function handleWatch(r: ApiRequest, open: WatchRegistry): void {
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
  const encode = (type: string, obj: KubeObject): string => {
    if (!table) return `{"type":"${type}","object":${lastRendered(obj, info)}}\n`;
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

  let stop: (() => void) | undefined;
  let bookmarkTimer: Timer | undefined;
  let closed = false;
  const timeout = setTimeout(() => finish(true), timeoutMs);
  timeout.unref();

  const sendBookmark = () => {
    const object = {
      kind: info.kind,
      apiVersion: r.apiVersion,
      metadata: { resourceVersion: String(ctx.store.resourceVersion) },
    };
    res.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
  };
  const scheduleBookmark = () => {
    bookmarkTimer = ctx.clock.setTimer(BOOKMARK_INTERVAL_MS, () => {
      if (closed) return;
      sendBookmark();
      scheduleBookmark();
    });
  };

  function finish(withBookmark: boolean): void {
    if (closed) return;
    closed = true;
    stop?.();
    bookmarkTimer?.cancel();
    clearTimeout(timeout);
    open.delete(endFromServer);
    if (!res.destroyed && !res.writableEnded) {
      if (withBookmark && bookmarks) sendBookmark();
      res.end();
    }
  }
  const endFromServer = () => finish(true);
  open.add(endFromServer);
  res.on('close', () => finish(false));

  try {
    stop = ctx.store.watch(
      r.key,
      { namespace: r.target.namespace, fromResourceVersion: fromRv, filter },
      (type, obj) => {
        if (!closed) res.write(encode(type, obj));
      },
    );
  } catch (err) {
    if (!(err instanceof StatusError)) throw err;
    res.write(`${JSON.stringify({ type: 'ERROR', object: err.toBody() })}\n`);
    finish(false);
    return;
  }
  if (closed) stop();
  else if (bookmarks) scheduleBookmark();
}

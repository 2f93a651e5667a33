import { badRequest } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import type { ApiRequest } from './api-request.ts';
import { ChunkedJsonWriter } from './http-io.ts';
import { renderObject, renderObjectOnce } from './rendered-objects.ts';
import { selectionFromQuery } from './selection.ts';
import { columnDefinitions, parseIncludeObject, tableRow, wantsTable } from './table-printer.ts';

/**
 * `continue` tokens: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"<last key>"}`, the real server's shape.
 * Note: the store keeps no snapshots, so a later page is read from the live store after the last key: objects
 * created or deleted between pages may appear or vanish, but nothing is listed twice. Tokens never expire; a
 * garbled token is a 400 BadRequest, as the real server answers one it cannot decode.
 */
interface ContinueToken {
  rv: number;
  start: string;
}

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: token.start })).toString(
    'base64',
  );
}

export function decodeContinue(value: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
    if (parsed?.v !== 'meta.k8s.io/v1' || typeof parsed.start !== 'string' || typeof parsed.rv !== 'number')
      throw new Error('bad token');
    return { rv: parsed.rv, start: parsed.start };
  } catch {
    throw badRequest(
      'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  }
}

function parseLimit(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw badRequest(`limit: Invalid value: "${value}": must be a non-negative integer`);
  return n > 0 ? n : undefined;
}

/** Reads one page of the collection the request names. */
export function listPage(r: ApiRequest): {
  items: KubeObject[];
  nextKey?: string;
  rv: number;
  /** Whether the page holds one node's pods (selected by spec.nodeName) rather than a whole collection. */
  byNode: boolean;
} {
  const selection = selectionFromQuery(r.key, r.query);
  const limit = parseLimit(r.query.get('limit'));
  const cont = r.query.get('continue');
  const after = cont ? decodeContinue(cont).start : undefined;
  const namespace = r.target.namespace;
  if (selection.nodeName !== undefined) {
    const rv = r.ctx.store.resourceVersion;
    const pods = r.ctx.store
      .podsOnNodeByKey(selection.nodeName)
      .filter(
        ([key, p]) =>
          (after === undefined || key > after) &&
          (namespace === undefined || p.metadata.namespace === namespace) &&
          (!selection.filter || selection.filter(p)),
      );
    const page = limit !== undefined && pods.length > limit ? pods.slice(0, limit) : pods;
    const nextKey = page.length < pods.length ? page[page.length - 1]![0] : undefined;
    return { items: page.map(([, p]) => p), nextKey, rv, byNode: true };
  }
  const page = r.ctx.store.listPage(r.key, { namespace, filter: selection.filter, after, limit });
  // Note: read after the page: reading a resource may first make writes put off (ObjectStore.beforeAccess),
  // and the list's resourceVersion must not be older than its items'.
  return { ...page, rv: r.ctx.store.resourceVersion, byNode: false };
}

/**
 * Whether an Accept header asks for the objects' metadata only, as client-go's metadata client does
 * (`application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`): a poll that reads only names, UIDs
 * or deletion times then costs a fifth of the bytes of whole pods to render and to parse.
 */
export function wantsMetadataList(accept: string | undefined): boolean {
  return Boolean(accept && /as=PartialObjectMetadataList/.test(accept));
}

export async function handleList(r: ApiRequest): Promise<void> {
  const { items, nextKey, rv, byNode } = listPage(r);
  const meta: Record<string, string> = { resourceVersion: String(rv) };
  if (nextKey !== undefined) meta.continue = encodeContinue({ rv, start: nextKey });
  const writer = new ChunkedJsonWriter(r.res);
  const info = r.info;
  // Note: `writer.write` hands back a promise only when the socket is backed up, so these loops await once
  // per few MiB rather than once per object (150,000 promise turns on a full pod list).
  if (wantsTable(r.req.headers.accept)) {
    const include = parseIncludeObject(r.query.get('includeObject'));
    const now = r.ctx.clock.now();
    writer.begin(200, { 'Content-Type': 'application/json' });
    writer.write(
      `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":${JSON.stringify(meta)},"columnDefinitions":${JSON.stringify(columnDefinitions(r.key))},"rows":[`,
    );
    for (let i = 0; i < items.length && !writer.closed; i++) {
      const wait = writer.write((i ? ',' : '') + JSON.stringify(tableRow(r.key, items[i]!, now, include)));
      if (wait) await wait;
    }
    writer.write(']}');
    await writer.end();
    return;
  }
  if (wantsMetadataList(r.req.headers.accept)) {
    writer.begin(200);
    writer.write(
      `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":${JSON.stringify(meta)},"items":[`,
    );
    for (let i = 0; i < items.length && !writer.closed; i++) {
      const wait = writer.write(
        `${i ? ',' : ''}{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":${JSON.stringify(items[i]!.metadata)}}`,
      );
      if (wait) await wait;
    }
    writer.write(']}');
    await writer.end();
    return;
  }
  writer.begin(200);
  writer.write(
    `{"kind":${JSON.stringify(`${info.kind}List`)},"apiVersion":${JSON.stringify(r.apiVersion)},"metadata":${JSON.stringify(meta)},"items":[`,
  );
  // Note: a whole collection is rendered afresh (reusing only texts already made). Keeping every object's JSON
  // made a repeated full pod list of `large` 0.5 s instead of 2.3 s, but cost 410 MB of heap and made the
  // first list 5.5 s (the collector moving 410 MB of new long-lived strings), past the 5 s target. One node's
  // pods are few, and a drain lists them again and again while most stay unchanged: those texts are kept.
  const render = byNode ? renderObject : renderObjectOnce;
  for (let i = 0; i < items.length && !writer.closed; i++) {
    if (i) writer.write(',');
    const wait = writer.write(render(items[i]!, info));
    if (wait) await wait;
  }
  writer.write(']}');
  await writer.end();
}

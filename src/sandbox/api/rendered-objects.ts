import type { KubeObject } from '../store/types.ts';
import { serializeObject } from './api-request.ts';
import type { ResourceInfo } from './resources.ts';

/**
 * The JSON text of served objects, so an object that has not changed since it was last served is not
 * serialized again. Exact because stored objects are never changed in place: a change is a new object, which
 * misses.
 *
 * Two kinds of reuse, measured on a rehearsal of 300 nodes:
 * - a drain lists its node's pods again and again while most of them stay as they are: three lists of one
 *   node's pods in four found every text already made. Those texts are remembered (`renderObject`), first in
 *   first out up to MAX_CHARS of text;
 * - the store tells every watch of a change one after another, so the text of the last object rendered is
 *   kept for the next watch (`renderObjectOnce`). Watch events are not remembered beyond that: no list ever
 *   served a watched change again, and nodes' and budgets' status changes would push the pods' texts out.
 * Whole collections are not remembered either: keeping every object's JSON made a full pod list of `large`
 * cost 410 MB of heap (see handleList).
 */
const MAX_CHARS = 32 * 1024 * 1024;

interface Rendered {
  obj: KubeObject;
  info: ResourceInfo;
  text: string;
}

const remembered = new Map<KubeObject, Rendered>();
let rememberedChars = 0;
let last: Rendered | undefined;

/** The object's JSON as `info`'s endpoint serves it, remembered for the next request that serves it. */
export function renderObject(obj: KubeObject, info: ResourceInfo): string {
  const known = remembered.get(obj);
  if (known?.info === info) return known.text;
  const text = renderObjectOnce(obj, info);
  if (known) forget(known);
  remembered.set(obj, { obj, info, text });
  rememberedChars += text.length;
  while (rememberedChars > MAX_CHARS) forget(remembered.values().next().value as Rendered);
  return text;
}

/** Like `renderObject`, reusing a text already made but remembering a new one only until the next. */
export function renderObjectOnce(obj: KubeObject, info: ResourceInfo): string {
  if (last?.obj === obj && last.info === info) return last.text;
  const known = remembered.get(obj);
  if (known?.info === info) return known.text;
  last = { obj, info, text: serializeObject(obj, info) };
  return last.text;
}

function forget(rendered: Rendered): void {
  remembered.delete(rendered.obj);
  rememberedChars -= rendered.text.length;
}

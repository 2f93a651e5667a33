import { StatusError } from '../status.ts';
import type { Json } from '../store/types.ts';
import { isRecord } from './field-shapes.ts';

/** A patch the server cannot apply; the caller turns it into a Status. */
export class PatchError extends Error {}

function invalidPatch(message: string): StatusError {
  return new StatusError(422, 'Invalid', message);
}

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

/** RFC 6901 pointer → reference tokens. */
function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function resolveParent(doc: Json, tokens: string[], pointer: string): { parent: Json; key: string } {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, token, false, pointer)];
    else if (isRecord(node) && Object.hasOwn(node, token)) node = node[token];
    else throw new PatchError(`doc is missing path: "${pointer}"`);
    if (node === undefined) throw new PatchError(`doc is missing path: "${pointer}"`);
  }
  if (!Array.isArray(node) && !isRecord(node)) throw new PatchError(`doc is missing path: "${pointer}"`);
  return { parent: node, key: tokens[tokens.length - 1]! };
}

function arrayIndex(arr: Json[], token: string, forAdd: boolean, pointer: string): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(`invalid array index "${token}" in "${pointer}"`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i >= arr.length))
    throw new PatchError(`array index out of range: "${pointer}"`);
  return i;
}

function getAt(doc: Json, pointer: string): Json {
  let node = doc;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, token, false, pointer)];
    else if (isRecord(node) && Object.hasOwn(node, token)) node = node[token];
    else throw new PatchError(`doc is missing path: "${pointer}"`);
  }
  return node;
}

function add(doc: Json, pointer: string, value: Json): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, key } = resolveParent(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, pointer), 0, value);
  else parent[key] = value;
  return doc;
}

function remove(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document');
  const { parent, key } = resolveParent(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false, pointer), 1);
  else if (Object.hasOwn(parent, key)) delete parent[key];
  else throw new PatchError(`Unable to remove nonexistent key: ${key}: missing value`);
  return doc;
}

function replace(doc: Json, pointer: string, value: Json): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, key } = resolveParent(doc, tokens, pointer);
  if (Array.isArray(parent)) parent[arrayIndex(parent, key, false, pointer)] = value;
  else if (Object.hasOwn(parent, key)) parent[key] = value;
  else
    throw new PatchError(`replace operation does not apply: doc is missing key: ${pointer}: missing value`);
  return doc;
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Applies an RFC 6902 JSON Patch to a copy of `target`. A failing `test` or a bad path is a 422. */
export function applyJsonPatch(target: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw invalidPatch('the JSON patch must be an array of operations');
  let doc = structuredClone(target);
  try {
    for (const raw of patch as Operation[]) {
      if (!isRecord(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string')
        throw new PatchError('each JSON patch operation needs "op" and "path"');
      const needsValue = raw.op === 'add' || raw.op === 'replace' || raw.op === 'test';
      if (needsValue && !Object.hasOwn(raw, 'value'))
        throw new PatchError(`missing value for operation "${raw.op}"`);
      switch (raw.op) {
        case 'add':
          doc = add(doc, raw.path, structuredClone(raw.value));
          break;
        case 'remove':
          doc = remove(doc, raw.path);
          break;
        case 'replace':
          doc = replace(doc, raw.path, structuredClone(raw.value));
          break;
        case 'move': {
          if (typeof raw.from !== 'string') throw new PatchError('missing "from" for move');
          const value = getAt(doc, raw.from);
          doc = add(remove(doc, raw.from), raw.path, value);
          break;
        }
        case 'copy': {
          if (typeof raw.from !== 'string') throw new PatchError('missing "from" for copy');
          doc = add(doc, raw.path, structuredClone(getAt(doc, raw.from)));
          break;
        }
        case 'test': {
          let actual: Json;
          try {
            actual = getAt(doc, raw.path);
          } catch {
            actual = undefined;
          }
          if (!deepEqual(actual, raw.value))
            throw new PatchError(`testing value ${raw.path} failed: test failed`);
          break;
        }
        default:
          throw new PatchError(`Unexpected kind: ${raw.op}`);
      }
    }
  } catch (err) {
    if (err instanceof PatchError)
      throw invalidPatch(`the server rejected our request due to an error in our request: ${err.message}`);
    throw err;
  }
  return doc;
}

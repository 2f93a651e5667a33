import { StatusError } from '../status.ts';
import type { Json } from '../store/types.ts';
import { isRecord } from './field-shapes.ts';

/**
 * Strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch) for the built-in types the sandbox
 * serves. Instead of reading struct tags, list strategies come from this table keyed by field name; the few
 * names whose merge key depends on where they sit (`ports`) are resolved from the parent field.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  imagePullSecrets: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  conditions: 'type',
  ownerReferences: 'uid',
  addresses: 'type',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  schedulingGates: 'name',
};

/** Primitive lists with `patchStrategy:"merge"`: the patch's values are added (set union). */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

function mergeKeyFor(field: string, parentField: string | undefined): string | undefined {
  if (field === 'ports')
    return parentField === 'containers' || parentField === 'initContainers' ? 'containerPort' : 'port';
  return MERGE_KEYS[field];
}

function bad(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function applyStrategicMergePatch(target: Json, patch: Json): Json {
  if (!isRecord(patch)) throw bad('strategic merge patch must be a JSON object');
  return mergeMap(isRecord(target) ? target : {}, patch, undefined);
}

function mergeMap(
  original: Record<string, Json>,
  patch: Record<string, Json>,
  field: string | undefined,
): Json {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const { $patch: _, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (directive !== undefined && directive !== 'merge') throw bad(`Unknown patch type: ${directive}`);
  const result: Record<string, Json> = { ...original };
  const retainKeys: unknown = patch.$retainKeys;
  if (retainKeys !== undefined) {
    if (!Array.isArray(retainKeys)) throw bad('$retainKeys must be a list of field names');
    for (const key of Object.keys(result)) if (!retainKeys.includes(key)) delete result[key];
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const listField = key.slice('$deleteFromPrimitiveList/'.length);
      if (!Array.isArray(value)) throw bad(`${key} must be a list`);
      if (Array.isArray(result[listField])) {
        result[listField] = result[listField].filter((v: Json) => !value.includes(v));
        if (result[listField].length === 0) delete result[listField];
      }
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const current = result[key];
    let merged: Json;
    if (isRecord(value)) merged = mergeMap(isRecord(current) ? current : {}, value, key);
    else if (Array.isArray(value))
      merged = mergeList(Array.isArray(current) ? current : [], value, key, field);
    else merged = value;
    if (merged === undefined) delete result[key];
    else result[key] = merged;
  }
  return result;
}

function mergeList(original: Json[], patch: Json[], field: string, parentField: string | undefined): Json {
  // `{"$patch": "replace"}` anywhere in the list replaces the whole list with the other items.
  if (patch.some((item) => isRecord(item) && item.$patch === 'replace')) {
    return stripDirectives(patch.filter((item) => !(isRecord(item) && item.$patch === 'replace')));
  }
  if (MERGED_PRIMITIVE_LISTS.has(field)) {
    const result = [...original];
    for (const v of patch) if (!result.includes(v)) result.push(v);
    return result;
  }
  const mergeKey = mergeKeyFor(field, parentField);
  if (!mergeKey || !patch.every(isRecord)) return stripDirectives(patch);
  const result: Json[] = original.map((x) => x);
  for (const item of patch) {
    const keyValue = item[mergeKey];
    const index = result.findIndex((x) => isRecord(x) && x[mergeKey] === keyValue);
    if (item.$patch === 'delete') {
      if (keyValue === undefined) throw bad(`delete directive in ${field} needs the merge key ${mergeKey}`);
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (keyValue === undefined)
      throw bad(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    if (index >= 0) result[index] = mergeMap(result[index], item, field);
    else result.push(mergeMap({}, item, field));
  }
  return result;
}

/** Removes directive keys from a value that is taken as-is. */
function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isRecord(value)) return value;
  const directive = value.$patch;
  if (directive !== undefined && !(['replace', 'merge', 'delete'] as unknown[]).includes(directive))
    throw bad(`Unknown patch type: ${directive}`);
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$')) continue;
    out[k] = stripDirectives(v);
  }
  return out;
}

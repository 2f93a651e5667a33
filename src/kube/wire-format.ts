/**
 * The API server's JSON as the rest of Midflight reads it: the wire format minus its nulls.
 *
 * Note: an API server writes some unset fields as null (`lastProbeTime: null` in a pod's conditions,
 * `creationTimestamp: null` in a pod template). Midflight's types (core/cluster-model.ts) say such a field
 * is absent or has a value, never null, and code reads them so (`cond.lastProbeTime !== undefined`, defaults
 * in destructuring); client-node's typed decoding used to drop them on the way. Read as raw JSON, they are
 * dropped here instead, in place: one walk costs a small fraction of the JSON.parse before it.
 */

/** Deletes every property whose value is null, at every depth; an array's nulls become undefined. */
export function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === null) value[i] = undefined;
      else if (typeof item === 'object') withoutNulls(item);
    }
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const field = record[key];
      if (field === null) delete record[key];
      else if (typeof field === 'object') withoutNulls(field);
    }
  }
  return value;
}

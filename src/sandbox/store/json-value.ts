/**
 * Copying and comparing the JSON-shaped objects the store keeps, without structuredClone or JSON.stringify:
 * every simulated write copies an object and compares its spec, and at 150,000 pods those two were a tenth
 * of a rehearsal's CPU. A walk over plain objects and arrays does the same work several times faster.
 */

/**
 * A deep copy of a JSON value (plain objects, arrays, primitives). Anything else met inside (a Date, a
 * Buffer) is copied by structuredClone, so the result is never worse than structuredClone's.
 * Note: shared references come out as separate copies; stored objects have none (they go over the wire).
 */
export function copyJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyJson(value[i]);
    return out as T;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = copyJson((value as Record<string, unknown>)[key]);
  return out as T;
}

/**
 * Whether two JSON values would serialise alike, ignoring the order of object keys (a key holding undefined
 * counts as absent, as in JSON.stringify).
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let defined = 0;
  for (const key of Object.keys(ra)) {
    if (ra[key] === undefined) continue;
    defined++;
    if (!sameJson(ra[key], rb[key])) return false;
  }
  for (const key of Object.keys(rb)) if (rb[key] !== undefined) defined--;
  return defined === 0;
}

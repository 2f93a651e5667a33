/**
 * 32-bit FNV-1a, the hash Kubernetes controllers use for template hashes (hash/fnv in Go): cheap, stable
 * across runs and platforms, so whatever the sandbox derives from a name or a template replays the same.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

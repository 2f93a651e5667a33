import { applyCreateDefaults } from '../../api/defaults.ts';
import { R } from '../../api/resources.ts';
import type { KubeObject } from '../../store/types.ts';
import { fnv1a32 } from '../fnv1a.ts';

/**
 * The hashes Kubernetes controllers stamp on what they create from a template (`pod-template-hash`,
 * `controller-revision-hash`): FNV-1a over the template, printed in decimal, each digit mapped through
 * apimachinery's SafeEncodeString alphabet (so values look like "7d4b9c8f6b", never a bad word).
 */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function templateHash(template: unknown): string {
  const digits = String(fnv1a32(stableStringify(template))).padStart(10, '0');
  let out = '';
  for (let i = 0; i < digits.length; i++) out += SAFE_ALPHABET[digits.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

const hashes = new WeakMap<object, string>();

/**
 * templateHash of a stored object's template, cached per template object: stored objects never change, and
 * the Deployment controller hashes its template on every sync (a tenth of a millisecond each, on every
 * change to any of its pods).
 */
export function storedTemplateHash(template: KubeObject['spec'] | undefined): string {
  if (!template || typeof template !== 'object') return templateHash(template ?? {});
  let hash = hashes.get(template);
  if (hash === undefined) {
    hash = templateHash(template);
    hashes.set(template, hash);
  }
  return hash;
}

/** JSON with object keys sorted, so the same template hashes the same whatever order its fields arrived in. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

const identities = new WeakMap<object, string>();

/**
 * What makes two pod templates the same for a controller, as upstream's EqualIgnoreHash: the template with
 * API defaults applied and without `pod-template-hash`, so a ReplicaSet made by another hand (or before a
 * server default existed) still counts as running its Deployment's template.
 * Note: stored objects never change, so the answer is cached per template object.
 */
export function templateIdentity(template: KubeObject['spec'] | undefined): string {
  if (template && typeof template === 'object') {
    const cached = identities.get(template);
    if (cached !== undefined) return cached;
  }
  const copy = structuredClone(template ?? {});
  applyCreateDefaults(R.replicasets, { metadata: {}, spec: { template: copy } }, () => 0);
  const labels = { ...copy.metadata?.labels };
  delete labels['pod-template-hash'];
  const metadata = { ...copy.metadata, labels: Object.keys(labels).length > 0 ? labels : undefined };
  const identity = stableStringify({
    ...copy,
    metadata: Object.values(metadata).some((v) => v !== undefined) ? metadata : undefined,
  });
  if (template && typeof template === 'object') identities.set(template, identity);
  return identity;
}

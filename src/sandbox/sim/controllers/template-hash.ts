import { applyCreateDefaults } from '../../api/defaults.ts';
import { R } from '../../api/resources.ts';
import { sameJson } from '../../store/json-value.ts';
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

/**
 * templateHash of a stored object's template (`owner.spec.template`), remembered per object (uid): see
 * `rememberedPerOwner`. The Deployment and StatefulSet controllers hash their template on every sync, a tenth
 * of a millisecond each, on every change to any of their pods.
 */
export function storedTemplateHash(owner: KubeObject): string {
  return hashes.get(owner, (template) => templateHash(template ?? {}));
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

/**
 * What makes two pod templates the same for a controller, as upstream's EqualIgnoreHash: the template with
 * API defaults applied and without `pod-template-hash`, so a ReplicaSet made by another hand (or before a
 * server default existed) still counts as running its Deployment's template.
 */
export function templateIdentity(template: KubeObject['spec'] | undefined): string {
  const copy = structuredClone(template ?? {});
  applyCreateDefaults(R.replicasets, { metadata: {}, spec: { template: copy } }, () => 0);
  const labels = { ...copy.metadata?.labels };
  delete labels['pod-template-hash'];
  const metadata = { ...copy.metadata, labels: Object.keys(labels).length > 0 ? labels : undefined };
  return stableStringify({
    ...copy,
    metadata: Object.values(metadata).some((v) => v !== undefined) ? metadata : undefined,
  });
}

/** templateIdentity of a stored object's template (`owner.spec.template`), remembered per object (uid). */
export function storedTemplateIdentity(owner: KubeObject): string {
  return identities.get(owner, templateIdentity);
}

/** Objects whose template's result is remembered, at most; past it the memory starts afresh. */
const MAX_REMEMBERED = 10_000;

/**
 * A result computed from a stored object's template, remembered per object uid with the template it came
 * from, and computed again only when the template differs from that one.
 * Why per uid and not per template object: a write that reaches into the spec (a ReplicaSet scaled up or
 * down in a rollout, a Deployment's replicas) stores a new copy of it, template included, with the same
 * content; comparing that with the last one costs a fraction of computing the result again. A write that
 * leaves the spec alone (a status update) keeps the template object, which the first check catches.
 * Note: sameJson ignores key order and keys holding undefined, as stableStringify (hence both results) does.
 */
class RememberedPerOwner {
  private readonly byUid = new Map<string, { template: unknown; result: string }>();

  get(owner: KubeObject, compute: (template: KubeObject['spec'] | undefined) => string): string {
    const template = owner.spec?.template;
    const uid = owner.metadata.uid;
    if (!uid) return compute(template);
    const last = this.byUid.get(uid);
    if (last && (last.template === template || sameJson(last.template, template))) {
      last.template = template;
      return last.result;
    }
    const result = compute(template);
    if (this.byUid.size >= MAX_REMEMBERED) this.byUid.clear();
    this.byUid.set(uid, { template, result });
    return result;
  }
}

const hashes = new RememberedPerOwner();
const identities = new RememberedPerOwner();

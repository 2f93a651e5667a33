/**
 * The JSON shapes the sandbox stores. Objects are kept exactly as they go over the wire (timestamps as
 * RFC 3339 strings), so only the fields the sandbox itself reads are typed; everything else passes through.
 */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
  [key: string]: unknown;
}

/**
 * A piece of Kubernetes JSON as it came over the wire: a spec, a status, a patch, a DeleteOptions body.
 * Loose on purpose: it mirrors arbitrary Kubernetes JSON, and the API server validates it by shape at the
 * boundary (resource-shapes.ts checks every field the sandbox reads before an object is validated,
 * defaulted or stored; the patch appliers are defined on any JSON). Typing each built-in kind field by field
 * here would restate k8s.io/api without catching anything that check does not. JSON not checked yet is
 * `unknown` until narrowed (`isRecord`). Declared once, here: import it, do not redeclare it.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above; the sandbox's one deliberate `any` for object JSON.
export type Json = any;

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Json;
  status?: Json;
  [key: string]: unknown;
}

/** A resource as the store knows it: "pods", "nodes", "apps/deployments", "policy/poddisruptionbudgets". */
export type ResourceKey = string;

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceKey;
  object: KubeObject;
  /** For MODIFIED and DELETED: the object as it was before this change. */
  previous?: KubeObject;
  resourceVersion: number;
}

import type { KubeObject, OwnerReference } from '../../store/types.ts';

/** The owner reference with `controller: true`, if any: the object that manages this one. */
export function controllerRefOf(obj: KubeObject | undefined): OwnerReference | undefined {
  return obj?.metadata.ownerReferences?.find((ref) => ref.controller === true);
}

/** The reference a controller stamps on what it creates, so the garbage collector deletes them with it. */
export function controllerRefTo(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Whether two owner references name the same object (uid, apiVersion, kind and name). */
export function sameReference(a: OwnerReference | undefined, b: OwnerReference | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.uid === b.uid && a.apiVersion === b.apiVersion && a.kind === b.kind && a.name === b.name;
}

import { sameJson } from '../../store/json-value.ts';
import type { ObjectStore } from '../../store/object-store.ts';
import type { KubeObject, ResourceKey } from '../../store/types.ts';

/**
 * Writes a controller's computed status only when it differs from the stored one.
 * IMPORTANT: an unconditional write would wake the controller again (its own object changed) and loop
 * forever at one instant of a virtual clock.
 */
export function updateStatusIfChanged(
  store: ObjectStore,
  resource: ResourceKey,
  obj: KubeObject,
  status: Record<string, unknown>,
): void {
  const next = dropUndefined(status);
  if (sameJson(obj.status ?? {}, next)) return;
  store.mutate(resource, obj.metadata.namespace, obj.metadata.name ?? '', (draft) => {
    draft.status = next;
  });
}

function dropUndefined(status: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(status).filter(([, v]) => v !== undefined));
}

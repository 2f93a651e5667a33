import type { SandboxContext } from '../../context.ts';
import { internalError } from '../../status.ts';
import type { KubeObject } from '../../store/types.ts';

/**
 * CONTRACT (implemented by the disruption work): the eviction subresource,
 * `POST /api/v1/namespaces/{ns}/pods/{name}/eviction`, exactly as ../shared/reference/kubernetes-api.md §1.
 * Throws a StatusError for 4xx/5xx outcomes; returns normally on success (the API layer answers 201).
 */
export function evictPod(_ctx: SandboxContext, _namespace: string, _name: string, _eviction: KubeObject): void {
  throw internalError('eviction is not implemented yet');
}

/**
 * CONTRACT: called by the API layer just before a client's DELETE of a pod (not the simulation's own
 * deletions), so a deletion that takes a budget below its desired healthy count lands in ctx.violations.
 */
export function noteClientPodDeletion(_ctx: SandboxContext, _pod: KubeObject): void {}

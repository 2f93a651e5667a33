/**
 * One taint of a node added or removed without touching the others.
 *
 * IMPORTANT: `spec.taints` has no patch merge key, so every patch (strategic, merge or JSON) that sets it
 * replaces the whole list: a blind patch would drop a taint the node lifecycle controller or an operator added
 * since it was read. So the list is read, edited and written back with the resourceVersion read; the API
 * server refuses a stale one (409 Conflict), and the edit is redone on a fresh read.
 */
import { type KubeConfig, PatchStrategy, type V1Node } from '@kubernetes/client-node';
import type { Clock, Taint } from '../core/index.ts';
import { isNotFound } from './api-failure.ts';
import { getNodeJson, listNodesJson, patchNodeJson } from './node-requests.ts';
import { type RetryOptions, rewriteOnConflict, transientOnly, withRetries } from './retry.ts';

/** A node's taints as read, with the resourceVersion a write of them must name, and its kubelet's version. */
export interface NodeTaints {
  name: string;
  resourceVersion: string;
  taints: Taint[];
  kubeletVersion: string;
}

/** Which taint: a node has at most one per key and effect. */
export interface TaintMatch {
  key: string;
  effect: string;
}

export interface NodeTaintOptions {
  clock: Clock;
  /** The node as listed a moment ago: saves a read; a conflict reads it again. */
  known?: NodeTaints;
  retry?: RetryOptions;
}

export function nodeTaintsOf(node: V1Node): NodeTaints {
  return {
    name: node.metadata?.name ?? '',
    resourceVersion: node.metadata?.resourceVersion ?? '',
    taints: (node.spec?.taints ?? []) as Taint[],
    kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? '',
  };
}

/** Every node's taints, in one list request. */
export async function listNodeTaints(kc: KubeConfig, clock: Clock): Promise<NodeTaints[]> {
  const list = await withRetries(clock, 'list nodes', () => listNodesJson(kc));
  return list.items.map(nodeTaintsOf);
}

/** `taints` with `taint` in place of any of the same key and effect; undefined when it is there already. */
export function withTaint(taints: readonly Taint[], taint: Taint): Taint[] | undefined {
  const same = taints.find((t) => t.key === taint.key && t.effect === taint.effect);
  if (same && (same.value ?? '') === (taint.value ?? '')) return undefined;
  return [...taints.filter((t) => t !== same), taint];
}

/** `taints` without the one matching; undefined when there is none. */
export function withoutTaint(taints: readonly Taint[], match: TaintMatch): Taint[] | undefined {
  const kept = taints.filter((t) => !(t.key === match.key && t.effect === match.effect));
  return kept.length === taints.length ? undefined : kept;
}

/** Puts `taint` on the node (replacing one of its key and effect). Returns whether the node changed. */
export function addNodeTaint(
  kc: KubeConfig,
  name: string,
  taint: Taint,
  options: NodeTaintOptions,
): Promise<boolean> {
  return editNodeTaints(kc, name, (taints) => withTaint(taints, taint), `taint node ${name}`, options);
}

/** Takes the matching taint off the node. Returns whether the node changed; a node gone changed nothing. */
export function removeNodeTaint(
  kc: KubeConfig,
  name: string,
  match: TaintMatch,
  options: NodeTaintOptions,
): Promise<boolean> {
  return editNodeTaints(
    kc,
    name,
    (taints) => withoutTaint(taints, match),
    `remove taint ${match.key}:${match.effect} from node ${name}`,
    options,
  );
}

/**
 * Reads the node's taints (or takes `known`), applies `edit` (undefined: nothing to change) and writes the
 * result guarded by the resourceVersion read. A conflict starts over from a fresh read; a node that does not
 * exist is left alone.
 */
async function editNodeTaints(
  kc: KubeConfig,
  name: string,
  edit: (taints: Taint[]) => Taint[] | undefined,
  operation: string,
  options: NodeTaintOptions,
): Promise<boolean> {
  const retry = { ...options.retry, retryIf: transientOnly };
  try {
    return await rewriteOnConflict(async (fresh) => {
      const current =
        !fresh && options.known
          ? options.known
          : nodeTaintsOf(await withRetries(options.clock, operation, () => getNodeJson(kc, name), retry));
      const taints = edit(current.taints);
      if (!taints) return false;
      await withRetries(
        options.clock,
        operation,
        () =>
          patchNodeJson(
            kc,
            name,
            {
              metadata: { resourceVersion: current.resourceVersion },
              spec: { taints: taints.length > 0 ? taints : null },
            },
            PatchStrategy.MergePatch,
          ),
        retry,
      );
      return true;
    });
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

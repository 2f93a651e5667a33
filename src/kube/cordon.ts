import { type KubeConfig, PatchStrategy, type V1Node } from '@kubernetes/client-node';
import { type Clock, RealClock, type Taint } from '../core/index.ts';
import { apiFailureOf } from './api-failure.ts';
import { getNodeJson, patchNodeJson } from './node-requests.ts';
import { type TaintMatch, withoutTaint } from './node-taints.ts';
import type { NodeWatch } from './node-watch.ts';
import { type RetryOptions, rewriteOnConflict, transientOnly, withRetries } from './retry.ts';

export interface CordonOptions {
  /**
   * Annotations stamped on the node in the same patch (the engine records its run id and step there);
   * a null value removes the annotation. Default: none.
   */
  annotations?: Record<string, string | null>;
  /** Times the backoff between retries of transient API failures. Default: wall time. */
  clock?: Clock;
  /** Retries of transient failures (5xx, 429, network). Default: DEFAULT_RETRY. */
  retry?: RetryOptions;
  /**
   * A taint taken off in the same patch, the other taints kept (the engine's pending-upgrade taint, as the
   * node goes back into service). The patch then names the resourceVersion read: spec.taints is replaced
   * whole, so a change since the read is a conflict, and the read and patch are redone.
   */
  removeTaint?: TaintMatch;
  /**
   * The run's node watch: the node is then taken from it instead of read, and patched only if it is still
   * that version of the node (its resourceVersion in the patch: a 409 Conflict otherwise, and the node is
   * read and patched as without a watch). Default: none, the node is read.
   */
  watch?: NodeWatch;
}

export interface CordonResult {
  /** The node was already unschedulable before this call: whoever cordoned it should uncordon it. */
  wasAlreadyCordoned: boolean;
}

export interface UncordonResult {
  /** The node was unschedulable before this call. */
  wasCordoned: boolean;
}

/**
 * Marks the node unschedulable, as `kubectl cordon` does: a strategic merge patch
 * `{"spec":{"unschedulable":true}}`. Idempotent; reports whether the node was cordoned already, so a run
 * never uncordons a node it did not cordon.
 */
export async function cordonNode(
  kc: KubeConfig,
  name: string,
  options: CordonOptions = {},
): Promise<CordonResult> {
  const before = await patchNodeSchedulability(kc, name, true, options, `cordon node ${name}`);
  return { wasAlreadyCordoned: before };
}

/** Makes the node schedulable again (`{"spec":{"unschedulable":null}}`, as `kubectl uncordon`). Idempotent. */
export async function uncordonNode(
  kc: KubeConfig,
  name: string,
  options: CordonOptions = {},
): Promise<UncordonResult> {
  const before = await patchNodeSchedulability(kc, name, false, options, `uncordon node ${name}`);
  return { wasCordoned: before };
}

/** Returns whether the node was unschedulable before the change. */
async function patchNodeSchedulability(
  kc: KubeConfig,
  name: string,
  unschedulable: boolean,
  options: CordonOptions,
  operation: string,
): Promise<boolean> {
  const clock = options.clock ?? new RealClock();
  const patch = (body: object, retry: RetryOptions | undefined) =>
    withRetries(
      clock,
      operation,
      () => patchNodeJson(kc, name, body, PatchStrategy.StrategicMergePatch),
      retry,
    );
  // Note: a patch that names the resourceVersion (the watched one, or one that takes a taint off) may be
  // refused as a conflict; transient failures are retried where they happen, a conflict is never retried as is.
  const retryNamingVersion = { ...options.retry, retryIf: transientOnly };
  const cached = options.watch?.get(name);
  const cachedChange = cached && schedulabilityChange(cached, unschedulable, options, true);
  // Note: a cache that sees nothing to change may not have seen the last change yet: the API decides then.
  if (cached && cachedChange) {
    try {
      await patch(cachedChange, retryNamingVersion);
      return cached.spec?.unschedulable === true;
    } catch (err) {
      // The node changed since the watch saw it: read it, as without a watch.
      if (apiFailureOf(err).code !== 409) throw err;
    }
  }
  // Note: then the node is read again and the patch recomputed on each conflict.
  const retry = options.removeTaint ? retryNamingVersion : options.retry;
  return rewriteOnConflict(async () => {
    const node: V1Node = await withRetries(clock, operation, () => getNodeJson(kc, name), retry);
    const change = schedulabilityChange(node, unschedulable, options, false);
    if (change) await patch(change, retry);
    return node.spec?.unschedulable === true;
  });
}

/**
 * The strategic merge patch that makes `node` so, or undefined when it already is. It names the node's
 * resourceVersion when `namingVersion` (the node is a watch's copy) or when it takes a taint off: spec.taints
 * is replaced whole, so a change since the node was seen must be a conflict, not lost.
 */
function schedulabilityChange(
  node: V1Node,
  unschedulable: boolean,
  options: Pick<CordonOptions, 'annotations' | 'removeTaint'>,
  namingVersion: boolean,
): Record<string, unknown> | undefined {
  const wasCordoned = node.spec?.unschedulable === true;
  const annotationsToChange = Object.entries(options.annotations ?? {}).filter(
    ([key, value]) => (node.metadata?.annotations?.[key] ?? null) !== value,
  );
  const taints = options.removeTaint
    ? withoutTaint((node.spec?.taints ?? []) as Taint[], options.removeTaint)
    : undefined;
  if (wasCordoned === unschedulable && annotationsToChange.length === 0 && !taints) return undefined;

  const spec: Record<string, unknown> = { unschedulable: unschedulable ? true : null };
  if (taints) spec.taints = taints.length > 0 ? taints : null;
  const metadata: Record<string, unknown> = {};
  if (annotationsToChange.length > 0) metadata.annotations = Object.fromEntries(annotationsToChange);
  if (taints || namingVersion) metadata.resourceVersion = node.metadata?.resourceVersion;
  const body: Record<string, unknown> = { spec };
  if (Object.keys(metadata).length > 0) body.metadata = metadata;
  return body;
}

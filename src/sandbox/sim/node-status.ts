/**
 * Node conditions and the taints derived from them, shared by the kubelet fleet, the node lifecycle
 * controller and the scheduler.
 */

import type { Taint } from '../../core/index.ts';
import type { KubeObject } from '../store/types.ts';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

export interface NodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

/** The Ready condition's status, or undefined when the kubelet has not posted one yet. */
export function nodeReadyStatus(node: KubeObject): NodeCondition['status'] | undefined {
  return conditionsOf<NodeCondition>(node).find((c) => c?.type === 'Ready')?.status;
}

/**
 * Whether a change of a node (`before` → `after`) kept everything but what a kubelet's periodic status report
 * changes (heartbeat times, nodeInfo): the same labels, spec, capacity and allocatable objects, the same Ready
 * status, no new deletion. Those parts are what places pods and taints nodes, so their watchers can skip the
 * change. A reference check, not a comparison: the report shares the parts it leaves alone with the node it
 * replaces (node-status-reporter.ts); any other writer that copies them only costs its watchers a full look.
 */
export function heartbeatOnly(before: KubeObject, after: KubeObject): boolean {
  return (
    before.metadata.labels === after.metadata.labels &&
    before.metadata.deletionTimestamp === after.metadata.deletionTimestamp &&
    before.spec === after.spec &&
    before.status?.capacity === after.status?.capacity &&
    before.status?.allocatable === after.status?.allocatable &&
    nodeReadyStatus(before) === nodeReadyStatus(after)
  );
}

/**
 * An object's `status.conditions`; none when that is not a list. The API server refuses such a status, but
 * the readers below also serve /metrics and must not fail on an object written behind its back.
 */
export function conditionsOf<C>(obj: KubeObject | undefined): C[] {
  const conditions: unknown = obj?.status?.conditions;
  return Array.isArray(conditions) ? (conditions as C[]) : [];
}

/** The node's taints; none when `spec.taints` is not a list (the API server refuses that, the store may not). */
export function taintsOf(node: KubeObject): Taint[] {
  const taints: unknown = node.spec?.taints;
  return Array.isArray(taints) ? (taints as Taint[]) : [];
}

export function internalIPOf(node: KubeObject): string | undefined {
  const addresses = (node.status?.addresses ?? []) as Array<{ type: string; address: string }>;
  return addresses.find((a) => a.type === 'InternalIP')?.address;
}

/**
 * Sets a node condition; lastTransitionTime moves only when the status changes, lastHeartbeatTime is
 * `heartbeat` when given (the controller leaves the kubelet's last heartbeat as it was when marking Unknown).
 */
export function setNodeCondition(
  status: { conditions?: NodeCondition[] },
  wanted: Pick<NodeCondition, 'type' | 'status' | 'reason' | 'message'>,
  now: string,
  heartbeat?: string,
): void {
  status.conditions ??= [];
  const index = status.conditions.findIndex((c) => c.type === wanted.type);
  const existing = index < 0 ? undefined : status.conditions[index]!;
  const next: NodeCondition = {
    type: wanted.type,
    status: wanted.status,
    lastHeartbeatTime: heartbeat ?? existing?.lastHeartbeatTime ?? now,
    lastTransitionTime: existing?.status === wanted.status ? (existing.lastTransitionTime ?? now) : now,
    reason: wanted.reason,
    message: wanted.message,
  };
  if (index < 0) status.conditions.push(next);
  else status.conditions[index] = next;
}

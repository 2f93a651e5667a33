import { applyCreateDefaults } from '../../api/defaults.ts';
import { R } from '../../api/resources.ts';
import type { SandboxContext } from '../../context.ts';
import { deleteObject } from '../../store/deletion.ts';
import { copyJson } from '../../store/json-value.ts';
import type { KubeObject, OwnerReference } from '../../store/types.ts';

export interface PodIdentity {
  /** A fixed name (StatefulSet ordinals), or a prefix the store completes with five random characters. */
  name?: string;
  generateName?: string;
  namespace: string;
  ownerRef: OwnerReference;
  /** Added to the template's labels (pod-template-hash, controller-revision-hash, job-name…). */
  labels?: Record<string, string>;
  /** Merged over the template's spec (nodeName for DaemonSets, hostname for StatefulSets). */
  spec?: Record<string, unknown>;
}

/**
 * Creates a pod from a workload's pod template, defaulted as the API server defaults a controller's create,
 * and records the controller's `SuccessfulCreate` Event on the owner. Pods without spec.nodeName are left
 * for the scheduler.
 */
export function createPodFromTemplate(
  ctx: SandboxContext,
  template: KubeObject | undefined,
  id: PodIdentity,
): KubeObject {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(id.name ? { name: id.name } : { generateName: id.generateName }),
      namespace: id.namespace,
      labels: { ...template?.metadata?.labels, ...id.labels },
      ...(template?.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [id.ownerRef],
    },
    spec: { ...copyJson(template?.spec ?? {}), ...copyJson(id.spec ?? {}) },
  };
  applyCreateDefaults('pods', pod, () => ctx.random());
  // Note: every part of `pod` is new (or, like the owner reference, never changed), so the store keeps it
  // as it is rather than copying it once more.
  const created = ctx.store.createOwned('pods', pod);
  recordPodEvent(ctx, id.ownerRef, id.namespace, 'create', created.metadata.name ?? '');
  return created;
}

/**
 * A controller deletes one of its pods (gracefully, as the API does) and records `SuccessfulDelete` on
 * its owner; a pod already terminating is left as it is, without an Event.
 */
export function deleteControlledPod(ctx: SandboxContext, pod: KubeObject): void {
  if (pod.metadata.deletionTimestamp) return;
  const name = pod.metadata.name ?? '';
  deleteObject(ctx.store, ctx.clock, R.pods, pod.metadata.namespace, name);
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller);
  if (owner) recordPodEvent(ctx, owner, pod.metadata.namespace ?? 'default', 'delete', name);
}

/** The component each workload controller reports as, as kube-controller-manager names them. */
const COMPONENT: Record<string, string> = {
  ReplicaSet: 'replicaset-controller',
  StatefulSet: 'statefulset-controller',
  DaemonSet: 'daemonset-controller',
  Job: 'job-controller',
};

/**
 * `SuccessfulCreate` / `SuccessfulDelete` in each controller's words: the StatefulSet controller writes
 * "create Pod web-0 in StatefulSet web successful", the others "Created pod: web-7d4b9-x2x8q".
 */
function recordPodEvent(
  ctx: SandboxContext,
  ownerRef: OwnerReference,
  namespace: string,
  verb: 'create' | 'delete',
  pod: string,
): void {
  const component = COMPONENT[ownerRef.kind];
  if (!component) return;
  const owner: KubeObject = {
    apiVersion: ownerRef.apiVersion,
    kind: ownerRef.kind,
    metadata: { name: ownerRef.name, namespace, uid: ownerRef.uid },
  };
  const message =
    ownerRef.kind === 'StatefulSet'
      ? `${verb} Pod ${pod} in StatefulSet ${ownerRef.name} successful`
      : `${verb === 'create' ? 'Created' : 'Deleted'} pod: ${pod}`;
  ctx.recordEvent(
    owner,
    'Normal',
    verb === 'create' ? 'SuccessfulCreate' : 'SuccessfulDelete',
    message,
    component,
  );
}

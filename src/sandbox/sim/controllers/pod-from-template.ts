import { applyCreateDefaults } from '../../api/defaults.ts';
import type { SandboxContext } from '../../context.ts';
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
 * Creates a pod from a workload's pod template, defaulted as the API server defaults a controller's create.
 * Pods without spec.nodeName are left for the scheduler.
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
    spec: { ...structuredClone(template?.spec ?? {}), ...structuredClone(id.spec ?? {}) },
  };
  applyCreateDefaults('pods', pod, () => ctx.random());
  return ctx.store.create('pods', pod);
}

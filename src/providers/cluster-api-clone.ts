/**
 * The pure part of the `cluster-api` node provider: the name of a pool's MachineDeployment at a version, the
 * clone that becomes it, and the record of what the provider asked of a MachineDeployment (kept in its own
 * annotations, so a resumed run reads it back from the cluster).
 */
import {
  CAPI_CLUSTER_NAME_LABEL,
  CAPI_DEPLOYMENT_NAME_LABEL,
  CAPI_TEMPLATE_HASH_LABEL,
} from '../core/index.ts';

/** A Cluster API object as read through CustomObjectsApi. */
export interface CapiObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: Cluster API specs are read field by field.
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  status?: any;
}

/** On a MachineDeployment midflight made: the one it was cloned from. */
export const CLONED_FROM_ANNOTATION = 'upgrade.midflight.dev/cloned-from';
/**
 * On a MachineDeployment: the creates midflight asked of it that are not withdrawn, as JSON `{key: true}`
 * (key: the run id and the node replaced). Written with the replicas in one patch, so a create is counted
 * once even when a crash hides whether it went through.
 */
export const REQUESTS_ANNOTATION = 'upgrade.midflight.dev/node-requests';
/** On a MachineDeployment: the Machines midflight removed (replicas lowered for them), as JSON `{machine: true}`. */
export const REMOVALS_ANNOTATION = 'upgrade.midflight.dev/machine-removals';

const VERSION_SUFFIX = /-v\d+-\d+-\d+$/;
/** A MachineDeployment's name is a label value on its Machines: at most 63 characters. */
const MAX_NAME = 63;

/**
 * The pool's MachineDeployment at `version`: its name without a version suffix, then the version, e.g.
 * workers → workers-v1-31-2, and workers-v1-31-2 → workers-v1-32-1 at the next upgrade.
 */
export function deploymentNameAt(source: string, version: string): string {
  const suffix = `-${version.replaceAll('.', '-')}`;
  const base = deploymentBase(source);
  return `${base.slice(0, MAX_NAME - suffix.length).replace(/-+$/, '')}${suffix}`;
}

/** A MachineDeployment's name without the version suffix deploymentNameAt gives it. */
export function deploymentBase(name: string): string {
  return name.replace(VERSION_SUFFIX, '');
}

/**
 * A copy of `source` at `version`, named `name`, with no replicas yet: the same cluster, bootstrap,
 * infrastructure and strategy, its selector and template labels naming the new deployment (so the two never
 * select each other's MachineSets), and `infrastructureName` as the infrastructure template when the new
 * version needs another machine image.
 */
export function cloneAtVersion(
  source: CapiObject,
  name: string,
  version: string,
  infrastructureName?: string,
): CapiObject {
  const spec = structuredClone(source.spec ?? {});
  const retarget = (labels: Record<string, string> | undefined) => {
    const next = { ...labels };
    delete next[CAPI_TEMPLATE_HASH_LABEL];
    next[CAPI_DEPLOYMENT_NAME_LABEL] = name;
    return next;
  };
  spec.replicas = 0;
  spec.selector = { ...spec.selector, matchLabels: retarget(spec.selector?.matchLabels) };
  spec.template = spec.template ?? {};
  spec.template.metadata = { ...spec.template.metadata, labels: retarget(spec.template.metadata?.labels) };
  spec.template.spec = { ...spec.template.spec, version };
  if (infrastructureName && spec.template.spec.infrastructureRef)
    spec.template.spec.infrastructureRef = {
      ...spec.template.spec.infrastructureRef,
      name: infrastructureName,
    };
  const cluster = source.metadata.labels?.[CAPI_CLUSTER_NAME_LABEL];
  return {
    apiVersion: source.apiVersion,
    kind: 'MachineDeployment',
    metadata: {
      name,
      namespace: source.metadata.namespace,
      labels: { ...(cluster ? { [CAPI_CLUSTER_NAME_LABEL]: cluster } : {}) },
      annotations: { [CLONED_FROM_ANNOTATION]: source.metadata.name },
    },
    spec,
  };
}

/** The key of one create in REQUESTS_ANNOTATION: the labels midflight asks the new node to carry. */
export function requestKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** A JSON-set annotation (REQUESTS_ANNOTATION, REMOVALS_ANNOTATION) as a Set; unreadable is empty. */
export function annotationSet(obj: CapiObject, annotation: string): Set<string> {
  try {
    const parsed = JSON.parse(obj.metadata.annotations?.[annotation] ?? '{}') as Record<string, unknown>;
    return new Set(Object.keys(parsed));
  } catch {
    return new Set();
  }
}

export function annotationSetValue(keys: Iterable<string>): string {
  return JSON.stringify(Object.fromEntries([...keys].sort().map((k) => [k, true])));
}

/**
 * APIs removed from Kubernetes, from the "Deprecated API Migration Guide" (kubernetes/website
 * content/en/docs/reference/using-api/deprecation-guide.md). The guide's newest section is v1.32: it lists no
 * removals for 1.33–1.35. Only GA/beta removals are listed; alpha APIs are not.
 *
 * IMPORTANT: this is data. Add a row per kind when a new release removes an API; nothing else changes.
 */
import type { KubeVersion } from './versions.ts';

export interface RemovedApi {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  /** The minor that stops serving it, e.g. 22 for 1.22. */
  removedInMinor: number;
  /** The apiVersion to use instead, or undefined when there is none (PodSecurityPolicy). */
  replacement?: string;
  /** The minor since which the replacement is served. */
  replacementSinceMinor?: number;
  note?: string;
}

type Row = [
  groupVersions: string[],
  kinds: string[],
  removedIn: number,
  replacement?: string,
  since?: number,
];

const ROWS: Row[] = [
  [['extensions/v1beta1'], ['NetworkPolicy'], 16, 'networking.k8s.io/v1', 8],
  [['extensions/v1beta1', 'apps/v1beta2'], ['DaemonSet'], 16, 'apps/v1', 9],
  [['extensions/v1beta1', 'apps/v1beta1', 'apps/v1beta2'], ['Deployment', 'ReplicaSet'], 16, 'apps/v1', 9],
  [['apps/v1beta1', 'apps/v1beta2'], ['StatefulSet'], 16, 'apps/v1', 9],
  [
    ['admissionregistration.k8s.io/v1beta1'],
    ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'],
    22,
    'admissionregistration.k8s.io/v1',
    16,
  ],
  [['apiextensions.k8s.io/v1beta1'], ['CustomResourceDefinition'], 22, 'apiextensions.k8s.io/v1', 16],
  [['apiregistration.k8s.io/v1beta1'], ['APIService'], 22, 'apiregistration.k8s.io/v1', 10],
  [['authentication.k8s.io/v1beta1'], ['TokenReview'], 22, 'authentication.k8s.io/v1', 6],
  [
    ['authorization.k8s.io/v1beta1'],
    ['LocalSubjectAccessReview', 'SelfSubjectAccessReview', 'SubjectAccessReview'],
    22,
    'authorization.k8s.io/v1',
    6,
  ],
  [['certificates.k8s.io/v1beta1'], ['CertificateSigningRequest'], 22, 'certificates.k8s.io/v1', 19],
  [['coordination.k8s.io/v1beta1'], ['Lease'], 22, 'coordination.k8s.io/v1', 14],
  [['extensions/v1beta1', 'networking.k8s.io/v1beta1'], ['Ingress'], 22, 'networking.k8s.io/v1', 19],
  [['networking.k8s.io/v1beta1'], ['IngressClass'], 22, 'networking.k8s.io/v1', 19],
  [
    ['rbac.authorization.k8s.io/v1beta1'],
    ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'],
    22,
    'rbac.authorization.k8s.io/v1',
    8,
  ],
  [['scheduling.k8s.io/v1beta1'], ['PriorityClass'], 22, 'scheduling.k8s.io/v1', 14],
  [['storage.k8s.io/v1beta1'], ['CSIDriver'], 22, 'storage.k8s.io/v1', 19],
  [['storage.k8s.io/v1beta1'], ['CSINode'], 22, 'storage.k8s.io/v1', 17],
  [['storage.k8s.io/v1beta1'], ['StorageClass'], 22, 'storage.k8s.io/v1', 6],
  [['storage.k8s.io/v1beta1'], ['VolumeAttachment'], 22, 'storage.k8s.io/v1', 13],
  [['batch/v1beta1'], ['CronJob'], 25, 'batch/v1', 21],
  [['discovery.k8s.io/v1beta1'], ['EndpointSlice'], 25, 'discovery.k8s.io/v1', 21],
  [['events.k8s.io/v1beta1'], ['Event'], 25, 'events.k8s.io/v1', 19],
  [['autoscaling/v2beta1'], ['HorizontalPodAutoscaler'], 25, 'autoscaling/v2', 23],
  [['policy/v1beta1'], ['PodDisruptionBudget'], 25, 'policy/v1', 21],
  [['policy/v1beta1'], ['PodSecurityPolicy'], 25],
  [['node.k8s.io/v1beta1'], ['RuntimeClass'], 25, 'node.k8s.io/v1', 20],
  [
    ['flowcontrol.apiserver.k8s.io/v1beta1'],
    ['FlowSchema', 'PriorityLevelConfiguration'],
    26,
    'flowcontrol.apiserver.k8s.io/v1beta3',
    26,
  ],
  [['autoscaling/v2beta2'], ['HorizontalPodAutoscaler'], 26, 'autoscaling/v2', 23],
  [['storage.k8s.io/v1beta1'], ['CSIStorageCapacity'], 27, 'storage.k8s.io/v1', 24],
  [
    ['flowcontrol.apiserver.k8s.io/v1beta2'],
    ['FlowSchema', 'PriorityLevelConfiguration'],
    29,
    'flowcontrol.apiserver.k8s.io/v1',
    29,
  ],
  [
    ['flowcontrol.apiserver.k8s.io/v1beta3'],
    ['FlowSchema', 'PriorityLevelConfiguration'],
    32,
    'flowcontrol.apiserver.k8s.io/v1',
    29,
  ],
];

const NOTES: Record<string, string> = {
  PodSecurityPolicy:
    'no replacement API: migrate to Pod Security Admission (namespace labels) or a policy engine',
  Ingress: 'v1 requires pathType, and serviceName/servicePort become service.name/service.port',
  MutatingWebhookConfiguration: 'v1 defaults failurePolicy to Fail and requires sideEffects',
  ValidatingWebhookConfiguration: 'v1 defaults failurePolicy to Fail and requires sideEffects',
  CustomResourceDefinition: 'v1 requires a structural schema',
};

export const REMOVED_APIS: readonly RemovedApi[] = ROWS.flatMap(
  ([gvs, kinds, removedInMinor, replacement, since]) =>
    gvs.flatMap((gv) =>
      kinds.map((kind) => {
        const [group, version] = gv.includes('/') ? (gv.split('/') as [string, string]) : ['', gv];
        const entry: RemovedApi = { group, version, kind, removedInMinor };
        if (replacement) entry.replacement = replacement;
        if (since !== undefined) entry.replacementSinceMinor = since;
        const note = NOTES[kind];
        if (note) entry.note = note;
        return entry;
      }),
    ),
);

const BY_KEY = new Map(REMOVED_APIS.map((r) => [`${apiVersionOf(r)}|${r.kind}`, r]));

export function apiVersionOf(api: Pick<RemovedApi, 'group' | 'version'>): string {
  return api.group ? `${api.group}/${api.version}` : api.version;
}

/** The removal entry for an apiVersion + kind, e.g. ('extensions/v1beta1', 'Ingress'), if it was ever removed. */
export function findRemovedApi(apiVersion: string, kind: string): RemovedApi | undefined {
  return BY_KEY.get(`${apiVersion}|${kind}`);
}

/**
 * Whether an upgrade from `current` to `target` crosses the release that removes `api`
 * (removed after the current minor and at or before the target minor).
 */
export function removedDuringUpgrade(api: RemovedApi, current: KubeVersion, target: KubeVersion): boolean {
  return api.removedInMinor > current.minor && api.removedInMinor <= target.minor;
}

/** Every removal an upgrade from `current` to `target` crosses, in release order. */
export function removalsBetween(current: KubeVersion, target: KubeVersion): RemovedApi[] {
  return REMOVED_APIS.filter((api) => removedDuringUpgrade(api, current, target)).sort(
    (a, b) => a.removedInMinor - b.removedInMinor,
  );
}

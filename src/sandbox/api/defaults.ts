import type { Json, KubeObject } from '../store/types.ts';

/**
 * Server-side defaulting on create, as k/k's `SetDefaults_*` functions and the default admission plugins
 * (DefaultTolerationSeconds, ServiceAccount) fill them, for the fields clients and the simulation read back.
 * `random` picks a ClusterIP for Services.
 */
/**
 * The selector the API server generates for a Job without `spec.manualSelector`, from the Job's own uid, and
 * the labels it adds to the pod template: what `kubectl logs job/NAME` and `kubectl get pods -l job-name=…`
 * find the Job's pods by. Needs the uid, so it is applied once the Job is stored.
 */
export function applyGeneratedJobSelector(job: KubeObject): void {
  if (job.spec?.manualSelector === true) return;
  const uid = job.metadata.uid ?? '';
  const name = job.metadata.name ?? '';
  job.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  job.spec.template ??= {};
  job.spec.template.metadata ??= {};
  job.spec.template.metadata.labels = {
    ...job.spec.template.metadata.labels,
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': name,
    'controller-uid': uid,
    'job-name': name,
  };
}

export function applyCreateDefaults(resource: string, obj: KubeObject, random: () => number): void {
  const spec: Json = obj.spec;
  switch (resource) {
    case 'pods':
      obj.spec ??= {};
      defaultPodSpec(obj.spec, true);
      obj.status = { phase: 'Pending', qosClass: qosClassOf(obj.spec) };
      return;
    case 'apps/deployments':
      obj.spec ??= {};
      obj.spec.replicas ??= 1;
      obj.spec.strategy ??= { type: 'RollingUpdate' };
      if (obj.spec.strategy.type === 'RollingUpdate') {
        obj.spec.strategy.rollingUpdate ??= {};
        obj.spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
        obj.spec.strategy.rollingUpdate.maxSurge ??= '25%';
      }
      obj.spec.revisionHistoryLimit ??= 10;
      obj.spec.progressDeadlineSeconds ??= 600;
      defaultTemplate(obj.spec);
      obj.status = {};
      return;
    case 'apps/replicasets':
      obj.spec ??= {};
      obj.spec.replicas ??= 1;
      defaultTemplate(obj.spec);
      obj.status = { replicas: 0 };
      return;
    case 'apps/statefulsets':
      obj.spec ??= {};
      obj.spec.replicas ??= 1;
      obj.spec.podManagementPolicy ??= 'OrderedReady';
      obj.spec.updateStrategy ??= { type: 'RollingUpdate' };
      if (obj.spec.updateStrategy.type === 'RollingUpdate')
        obj.spec.updateStrategy.rollingUpdate ??= { partition: 0 };
      obj.spec.revisionHistoryLimit ??= 10;
      obj.spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
      defaultTemplate(obj.spec);
      obj.status = { replicas: 0, availableReplicas: 0 };
      return;
    case 'apps/daemonsets':
      obj.spec ??= {};
      obj.spec.updateStrategy ??= { type: 'RollingUpdate' };
      if (obj.spec.updateStrategy.type === 'RollingUpdate')
        obj.spec.updateStrategy.rollingUpdate ??= { maxUnavailable: 1, maxSurge: 0 };
      obj.spec.revisionHistoryLimit ??= 10;
      defaultTemplate(obj.spec);
      obj.status = {
        currentNumberScheduled: 0,
        numberMisscheduled: 0,
        desiredNumberScheduled: 0,
        numberReady: 0,
      };
      return;
    case 'batch/jobs':
      obj.spec ??= {};
      if (obj.spec.completions == null && obj.spec.parallelism == null) {
        obj.spec.completions = 1;
        obj.spec.parallelism = 1;
      }
      obj.spec.parallelism ??= 1;
      obj.spec.backoffLimit ??= 6;
      obj.spec.completionMode ??= 'NonIndexed';
      obj.spec.suspend ??= false;
      obj.spec.podReplacementPolicy ??= 'TerminatingOrFailed';
      if (obj.spec.template?.spec) defaultPodSpec(obj.spec.template.spec, false);
      obj.status = {};
      return;
    case 'policy/poddisruptionbudgets':
      obj.status = {
        disruptionsAllowed: 0,
        currentHealthy: 0,
        desiredHealthy: 0,
        expectedPods: 0,
      };
      return;
    case 'services':
      obj.spec ??= {};
      defaultService(obj.spec, random);
      obj.status = { loadBalancer: {} };
      return;
    case 'namespaces':
      obj.metadata.labels = {
        ...(obj.metadata.labels ?? {}),
        'kubernetes.io/metadata.name': obj.metadata.name ?? '',
      };
      obj.spec = { finalizers: ['kubernetes'], ...(spec ?? {}) };
      obj.status = { phase: 'Active' };
      return;
    case 'secrets':
      obj.type ??= 'Opaque';
      return;
  }
}

function defaultTemplate(spec: Json): void {
  if (spec.template?.spec) defaultPodSpec(spec.template.spec, false);
}

function defaultPodSpec(spec: Json, admitted: boolean): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  for (const field of ['containers', 'initContainers']) {
    for (const c of (spec[field] as Json[] | undefined) ?? []) defaultContainer(c);
  }
  if (!admitted) return;
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.enableServiceLinks ??= true;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  spec.priority ??= 0;
  // DefaultTolerationSeconds admission: pods survive a NotReady/unreachable node for five minutes.
  const tolerations: Json[] = spec.tolerations ?? [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((t) => t.key === key || (t.operator === 'Exists' && !t.key)))
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  spec.tolerations = tolerations;
}

function defaultContainer(c: Json): void {
  if (!c || typeof c !== 'object') return;
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.imagePullPolicy ??= pullPolicyFor(c.image);
  c.resources ??= {};
  for (const port of (c.ports as Json[] | undefined) ?? []) port.protocol ??= 'TCP';
}

/** `Always` for `:latest` or untagged images, `IfNotPresent` otherwise (SetDefaults_Container). */
function pullPolicyFor(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  const tag = colon < 0 ? '' : lastSegment.slice(colon + 1);
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultService(spec: Json, random: () => number): void {
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.clusterIP === undefined && spec.type !== 'ExternalName') {
    const n = Math.floor(random() * 65_000) + 10;
    spec.clusterIP = `10.96.${n >> 8}.${n & 255}`;
  }
  if (spec.clusterIP && spec.clusterIP !== 'None') spec.clusterIPs ??= [spec.clusterIP];
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
  spec.internalTrafficPolicy ??= 'Cluster';
  for (const port of (spec.ports as Json[] | undefined) ?? []) {
    port.protocol ??= 'TCP';
    port.targetPort ??= port.port;
  }
}

/** Pod QoS class (k/k pkg/apis/core/helper/qos): Guaranteed, Burstable or BestEffort. */
export function qosClassOf(spec: Json): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers: Json[] = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const limits = c?.resources?.limits ?? {};
    const requests = { ...limits, ...(c?.resources?.requests ?? {}) };
    const names = ['cpu', 'memory'];
    if (names.some((r) => requests[r] !== undefined || limits[r] !== undefined)) any = true;
    for (const r of names) {
      if (limits[r] === undefined || String(requests[r]) !== String(limits[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

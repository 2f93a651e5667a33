import type { FieldError } from '../status.ts';
import type { KubeObject } from '../store/types.ts';
import {
  anything,
  base64,
  bool,
  checkShape,
  int,
  intOrString,
  list,
  map,
  obj,
  quantity,
  resourceList,
  type Shape,
  str,
  stringMap,
  strings,
  time,
} from './field-shapes.ts';

/**
 * The shapes of the built-in types the sandbox serves (k8s.io/api), for the fields that clients send and the
 * simulation reads: every field the scheduler, kubelets, controllers and table printer look at is here.
 */

const ownerReference = obj({
  apiVersion: str,
  kind: str,
  name: str,
  uid: str,
  controller: bool,
  blockOwnerDeletion: bool,
});

const objectMeta = obj({
  name: str,
  generateName: str,
  namespace: str,
  selfLink: str,
  uid: str,
  resourceVersion: str,
  generation: int,
  creationTimestamp: time,
  deletionTimestamp: time,
  deletionGracePeriodSeconds: int,
  labels: stringMap,
  annotations: stringMap,
  ownerReferences: list(ownerReference),
  finalizers: strings,
  managedFields: list(
    obj({ manager: str, operation: str, apiVersion: str, time, fieldsType: str, subresource: str }),
  ),
});

export const labelSelector = obj({
  matchLabels: stringMap,
  matchExpressions: list(obj({ key: str, operator: str, values: strings })),
});

const condition = obj({
  type: str,
  status: str,
  reason: str,
  message: str,
  observedGeneration: int,
  lastTransitionTime: time,
  lastUpdateTime: time,
  lastProbeTime: time,
  lastHeartbeatTime: time,
});
const conditions = list(condition);

// --- Pods ---------------------------------------------------------------------------------------------------

const nodeSelectorRequirement = obj({ key: str, operator: str, values: strings });
const nodeSelectorTerm = obj({
  matchExpressions: list(nodeSelectorRequirement),
  matchFields: list(nodeSelectorRequirement),
});
const podAffinityTerm = obj({
  labelSelector,
  namespaceSelector: labelSelector,
  namespaces: strings,
  topologyKey: str,
});
const podAffinity = obj({
  requiredDuringSchedulingIgnoredDuringExecution: list(podAffinityTerm),
  preferredDuringSchedulingIgnoredDuringExecution: list(obj({ weight: int, podAffinityTerm })),
});
const affinity = obj({
  nodeAffinity: obj({
    requiredDuringSchedulingIgnoredDuringExecution: obj({ nodeSelectorTerms: list(nodeSelectorTerm) }),
    preferredDuringSchedulingIgnoredDuringExecution: list(obj({ weight: int, preference: nodeSelectorTerm })),
  }),
  podAffinity,
  podAntiAffinity: podAffinity,
});

export const toleration = obj({ key: str, operator: str, value: str, effect: str, tolerationSeconds: int });

const probe = obj({
  initialDelaySeconds: int,
  periodSeconds: int,
  timeoutSeconds: int,
  successThreshold: int,
  failureThreshold: int,
  terminationGracePeriodSeconds: int,
});

const container = obj({
  name: str,
  image: str,
  command: strings,
  args: strings,
  workingDir: str,
  ports: list(obj({ name: str, containerPort: int, hostPort: int, hostIP: str, protocol: str })),
  env: list(obj({ name: str, value: str, valueFrom: obj({}) })),
  envFrom: list(obj({ prefix: str, configMapRef: obj({ name: str }), secretRef: obj({ name: str }) })),
  resources: obj({ requests: resourceList, limits: resourceList, claims: list(obj({ name: str })) }),
  volumeMounts: list(obj({ name: str, mountPath: str, subPath: str, readOnly: bool })),
  imagePullPolicy: str,
  restartPolicy: str,
  livenessProbe: probe,
  readinessProbe: probe,
  startupProbe: probe,
  terminationMessagePath: str,
  terminationMessagePolicy: str,
  securityContext: obj({}),
  stdin: bool,
  tty: bool,
});

const volume = obj({
  name: str,
  emptyDir: obj({ medium: str, sizeLimit: quantity }),
  hostPath: obj({ path: str, type: str }),
  persistentVolumeClaim: obj({ claimName: str, readOnly: bool }),
  configMap: obj({ name: str, optional: bool }),
  secret: obj({ secretName: str, optional: bool }),
});

const podSpec = obj({
  containers: list(container),
  initContainers: list(container),
  ephemeralContainers: list(container),
  volumes: list(volume),
  nodeName: str,
  nodeSelector: stringMap,
  affinity,
  tolerations: list(toleration),
  schedulerName: str,
  schedulingGates: list(obj({ name: str })),
  readinessGates: list(obj({ conditionType: str })),
  topologySpreadConstraints: list(
    obj({ maxSkew: int, topologyKey: str, whenUnsatisfiable: str, labelSelector, minDomains: int }),
  ),
  restartPolicy: str,
  terminationGracePeriodSeconds: int,
  activeDeadlineSeconds: int,
  priority: int,
  priorityClassName: str,
  preemptionPolicy: str,
  overhead: resourceList,
  serviceAccountName: str,
  serviceAccount: str,
  automountServiceAccountToken: bool,
  enableServiceLinks: bool,
  hostNetwork: bool,
  hostPID: bool,
  hostIPC: bool,
  hostname: str,
  subdomain: str,
  dnsPolicy: str,
  runtimeClassName: str,
  imagePullSecrets: list(obj({ name: str })),
  securityContext: obj({}),
});

const containerStatus = obj({
  name: str,
  ready: bool,
  started: bool,
  restartCount: int,
  image: str,
  imageID: str,
  containerID: str,
  state: obj({
    waiting: obj({ reason: str, message: str }),
    running: obj({ startedAt: time }),
    terminated: obj({ exitCode: int, reason: str, message: str, startedAt: time, finishedAt: time }),
  }),
});

const podStatus = obj({
  phase: str,
  conditions,
  message: str,
  reason: str,
  nominatedNodeName: str,
  hostIP: str,
  hostIPs: list(obj({ ip: str })),
  podIP: str,
  podIPs: list(obj({ ip: str })),
  startTime: time,
  qosClass: str,
  containerStatuses: list(containerStatus),
  initContainerStatuses: list(containerStatus),
});

const podTemplate = obj({ metadata: objectMeta, spec: podSpec });

// --- Nodes --------------------------------------------------------------------------------------------------

export const taint = obj({ key: str, value: str, effect: str, timeAdded: time });

const nodeSpec = obj({
  podCIDR: str,
  podCIDRs: strings,
  providerID: str,
  unschedulable: bool,
  taints: list(taint),
});

const nodeStatus = obj({
  capacity: resourceList,
  allocatable: resourceList,
  phase: str,
  conditions,
  addresses: list(obj({ type: str, address: str })),
  daemonEndpoints: obj({ kubeletEndpoint: obj({ Port: int }) }),
  nodeInfo: obj({
    machineID: str,
    systemUUID: str,
    bootID: str,
    kernelVersion: str,
    osImage: str,
    containerRuntimeVersion: str,
    kubeletVersion: str,
    kubeProxyVersion: str,
    operatingSystem: str,
    architecture: str,
  }),
  images: list(obj({ names: strings, sizeBytes: int })),
  volumesInUse: strings,
});

// --- Workloads ----------------------------------------------------------------------------------------------

const workloadStatus = obj({
  observedGeneration: int,
  replicas: int,
  updatedReplicas: int,
  readyReplicas: int,
  availableReplicas: int,
  unavailableReplicas: int,
  currentReplicas: int,
  fullyLabeledReplicas: int,
  terminatingReplicas: int,
  collisionCount: int,
  currentNumberScheduled: int,
  numberMisscheduled: int,
  desiredNumberScheduled: int,
  numberReady: int,
  updatedNumberScheduled: int,
  numberAvailable: int,
  numberUnavailable: int,
  currentRevision: str,
  updateRevision: str,
  conditions,
});

const rollingUpdate = obj({ maxSurge: intOrString, maxUnavailable: intOrString, partition: int });

const workloadSpec = obj({
  replicas: int,
  selector: labelSelector,
  template: podTemplate,
  minReadySeconds: int,
  revisionHistoryLimit: int,
  progressDeadlineSeconds: int,
  paused: bool,
  strategy: obj({ type: str, rollingUpdate }),
  updateStrategy: obj({ type: str, rollingUpdate }),
  serviceName: str,
  podManagementPolicy: str,
  ordinals: obj({ start: int }),
  volumeClaimTemplates: list(obj({ metadata: objectMeta, spec: obj({}) })),
  persistentVolumeClaimRetentionPolicy: obj({ whenDeleted: str, whenScaled: str }),
});

const jobSpec = obj({
  parallelism: int,
  completions: int,
  backoffLimit: int,
  backoffLimitPerIndex: int,
  maxFailedIndexes: int,
  activeDeadlineSeconds: int,
  ttlSecondsAfterFinished: int,
  suspend: bool,
  manualSelector: bool,
  completionMode: str,
  podReplacementPolicy: str,
  selector: labelSelector,
  template: podTemplate,
});

const jobStatus = obj({
  active: int,
  succeeded: int,
  failed: int,
  ready: int,
  terminating: int,
  startTime: time,
  completionTime: time,
  completedIndexes: str,
  conditions,
});

// --- Everything else ----------------------------------------------------------------------------------------

const pdbSpec = obj({
  minAvailable: intOrString,
  maxUnavailable: intOrString,
  selector: labelSelector,
  unhealthyPodEvictionPolicy: str,
});

const pdbStatus = obj({
  observedGeneration: int,
  disruptionsAllowed: int,
  currentHealthy: int,
  desiredHealthy: int,
  expectedPods: int,
  disruptedPods: map(time),
  conditions,
});

const serviceSpec = obj({
  type: str,
  selector: stringMap,
  ports: list(
    obj({ name: str, protocol: str, appProtocol: str, port: int, targetPort: intOrString, nodePort: int }),
  ),
  clusterIP: str,
  clusterIPs: strings,
  externalIPs: strings,
  externalName: str,
  sessionAffinity: str,
  ipFamilies: strings,
  ipFamilyPolicy: str,
  internalTrafficPolicy: str,
  externalTrafficPolicy: str,
  publishNotReadyAddresses: bool,
});

const objectReference = obj({
  kind: str,
  namespace: str,
  name: str,
  uid: str,
  apiVersion: str,
  resourceVersion: str,
  fieldPath: str,
});

const eventSeries = obj({ count: int, lastObservedTime: time });

/** Top-level fields per store key; `metadata` is added to each. */
const TOP_LEVEL: Record<string, Record<string, Shape>> = {
  pods: { spec: podSpec, status: podStatus },
  nodes: { spec: nodeSpec, status: nodeStatus },
  namespaces: { spec: obj({ finalizers: strings }), status: obj({ phase: str, conditions }) },
  configmaps: { data: stringMap, binaryData: map(base64), immutable: bool },
  secrets: { data: map(base64), stringData: stringMap, type: str, immutable: bool },
  services: { spec: serviceSpec, status: obj({ loadBalancer: obj({}), conditions }) },
  serviceaccounts: {
    secrets: list(obj({ name: str })),
    imagePullSecrets: list(obj({ name: str })),
    automountServiceAccountToken: bool,
  },
  endpoints: {
    subsets: list(
      obj({
        addresses: list(obj({ ip: str, hostname: str, nodeName: str, targetRef: objectReference })),
        notReadyAddresses: list(obj({ ip: str, hostname: str, nodeName: str, targetRef: objectReference })),
        ports: list(obj({ name: str, port: int, protocol: str })),
      }),
    ),
  },
  events: {
    involvedObject: objectReference,
    related: objectReference,
    reason: str,
    message: str,
    type: str,
    action: str,
    count: int,
    firstTimestamp: time,
    lastTimestamp: time,
    eventTime: time,
    series: eventSeries,
    source: obj({ component: str, host: str }),
    reportingComponent: str,
    reportingInstance: str,
  },
  'events.k8s.io/events': {
    regarding: objectReference,
    related: objectReference,
    reason: str,
    note: str,
    type: str,
    action: str,
    eventTime: time,
    series: eventSeries,
    reportingController: str,
    reportingInstance: str,
    deprecatedCount: int,
    deprecatedFirstTimestamp: time,
    deprecatedLastTimestamp: time,
    deprecatedSource: obj({ component: str, host: str }),
  },
  'apps/deployments': { spec: workloadSpec, status: workloadStatus },
  'apps/replicasets': { spec: workloadSpec, status: workloadStatus },
  'apps/statefulsets': { spec: workloadSpec, status: workloadStatus },
  'apps/daemonsets': { spec: workloadSpec, status: workloadStatus },
  'apps/controllerrevisions': { data: anything, revision: int },
  'batch/jobs': { spec: jobSpec, status: jobStatus },
  'policy/poddisruptionbudgets': { spec: pdbSpec, status: pdbStatus },
  'coordination.k8s.io/leases': {
    spec: obj({
      holderIdentity: str,
      leaseDurationSeconds: int,
      acquireTime: time,
      renewTime: time,
      leaseTransitions: int,
      strategy: str,
      preferredHolder: str,
    }),
  },
};

const SHAPES = new Map<string, Shape>();

/** The shape of a whole object of the resource (by store key); unknown resources get their metadata checked. */
export function shapeOf(resource: string): Shape {
  let shape = SHAPES.get(resource);
  if (!shape) {
    shape = obj({ apiVersion: str, kind: str, metadata: objectMeta, ...(TOP_LEVEL[resource] ?? {}) });
    SHAPES.set(resource, shape);
  }
  return shape;
}

/** Field errors of an object whose JSON would not decode into the resource's type; empty when it would. */
export function checkResourceShape(resource: string, obj: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  checkShape(obj, shapeOf(resource), '', errors);
  return errors;
}

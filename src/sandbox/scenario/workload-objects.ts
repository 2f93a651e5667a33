import { R } from '../api/resources.ts';
import type { KubeObject, ResourceKey } from '../store/types.ts';
import { TRAFFIC_ANNOTATION } from './annotations.ts';
import type { WorkloadSpec } from './scenario-types.ts';

/** An object and the store resource it belongs to. */
export interface Manifest {
  resource: ResourceKey;
  object: KubeObject;
}

const WORKLOAD_RESOURCE: Record<WorkloadSpec['kind'], ResourceKey> = {
  Deployment: R.deployments,
  StatefulSet: R.statefulsets,
  DaemonSet: R.daemonsets,
  Job: R.jobs,
  Pod: R.pods,
};

export function workloadResource(kind: WorkloadSpec['kind']): ResourceKey {
  return WORKLOAD_RESOURCE[kind];
}

/**
 * The objects one scenario workload stands for: the workload itself (or its bare pods when unmanaged),
 * its PodDisruptionBudget and, when it serves traffic, a Service selecting its pods.
 */
export function workloadManifests(w: WorkloadSpec, nextClusterIp: () => string): Manifest[] {
  const selector = { app: w.name };
  const labels = { ...w.labels, ...selector };
  const annotations = w.traffic ? { [TRAFFIC_ANNOTATION]: JSON.stringify(w.traffic) } : undefined;
  const meta = { name: w.name, namespace: w.namespace, labels, ...(annotations ? { annotations } : {}) };
  const template = { metadata: { labels }, spec: podSpec(w) };
  const out: Manifest[] = [];
  switch (w.kind) {
    case 'Deployment':
      out.push({
        resource: R.deployments,
        object: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: meta,
          spec: {
            replicas: w.replicas,
            selector: { matchLabels: selector },
            template,
            strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
            revisionHistoryLimit: 10,
            progressDeadlineSeconds: 600,
          },
        },
      });
      break;
    case 'StatefulSet':
      out.push({
        resource: R.statefulsets,
        object: {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: meta,
          spec: {
            replicas: w.replicas,
            selector: { matchLabels: selector },
            serviceName: w.name,
            template,
            podManagementPolicy: 'OrderedReady',
            updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
            revisionHistoryLimit: 10,
          },
        },
      });
      break;
    case 'DaemonSet':
      out.push({
        resource: R.daemonsets,
        object: {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          metadata: meta,
          spec: {
            selector: { matchLabels: selector },
            template,
            updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
            revisionHistoryLimit: 10,
          },
        },
      });
      break;
    case 'Job':
      out.push({
        resource: R.jobs,
        object: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: meta,
          spec: {
            completions: w.replicas,
            parallelism: w.replicas,
            backoffLimit: 6,
            completionMode: 'NonIndexed',
            template: { metadata: { labels }, spec: { ...podSpec(w), restartPolicy: 'Never' } },
          },
        },
      });
      break;
    case 'Pod':
      for (let i = 1; i <= w.replicas; i++) {
        out.push({
          resource: R.pods,
          object: {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { ...meta, name: w.replicas === 1 ? w.name : `${w.name}-${i}` },
            spec: podSpec(w),
            status: { phase: 'Pending', qosClass: 'Burstable' },
          },
        });
      }
      break;
  }
  if (w.pdb) {
    out.push({
      resource: R.pdbs,
      object: {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: `${w.name}-pdb`, namespace: w.namespace, labels: { app: w.name } },
        spec: { selector: { matchLabels: selector }, ...w.pdb },
      },
    });
  }
  if (w.traffic || w.kind === 'StatefulSet') {
    out.push({ resource: R.services, object: serviceObject(w.name, w.namespace, selector, nextClusterIp()) });
  }
  return out;
}

export function serviceObject(
  name: string,
  namespace: string,
  selector: Record<string, string>,
  clusterIP: string,
  port = 80,
  targetPort: number | string = 8080,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { ...selector } },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      selector,
      ports: [{ name: 'http', port, protocol: 'TCP', targetPort }],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  };
}

function podSpec(w: WorkloadSpec): Record<string, unknown> {
  return {
    containers: [
      {
        name: w.containerName ?? 'app',
        image: w.image,
        imagePullPolicy: 'IfNotPresent',
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        resources: { requests: { cpu: w.requests.cpu, memory: w.requests.memory } },
        readinessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 5 },
        ...(volumeMountsOf(w).length ? { volumeMounts: volumeMountsOf(w) } : {}),
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
      },
    ],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: w.terminationGracePeriodSeconds ?? 30,
    dnsPolicy: 'ClusterFirst',
    schedulerName: 'default-scheduler',
    securityContext: {},
    enableServiceLinks: true,
    ...(w.nodeSelector ? { nodeSelector: { ...w.nodeSelector } } : {}),
    ...(w.tolerations ? { tolerations: w.tolerations.map((t) => ({ ...t })) } : {}),
    ...(volumesOf(w).length ? { volumes: volumesOf(w) } : {}),
  };
}

function volumeMountsOf(w: WorkloadSpec): Array<{ name: string; mountPath: string }> {
  return [
    ...(w.localStorage ? [{ name: 'scratch', mountPath: '/scratch' }] : []),
    ...(w.storageClass ? [{ name: 'data', mountPath: '/data' }] : []),
  ];
}

/**
 * `localStorage`: an emptyDir; `storageClass`: a generic ephemeral volume of that class, which (unlike a
 * PersistentVolumeClaim the scenario would have to write) carries its class in the pod itself.
 */
function volumesOf(w: WorkloadSpec): Array<Record<string, unknown>> {
  return [
    ...(w.localStorage ? [{ name: 'scratch', emptyDir: {} }] : []),
    ...(w.storageClass
      ? [
          {
            name: 'data',
            ephemeral: {
              volumeClaimTemplate: {
                spec: {
                  storageClassName: w.storageClass,
                  accessModes: ['ReadWriteOnce'],
                  resources: { requests: { storage: '1Gi' } },
                },
              },
            },
          },
        ]
      : []),
  ];
}

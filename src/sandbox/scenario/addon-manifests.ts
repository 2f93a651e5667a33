import { R } from '../api/resources.ts';
import type { KubeObject } from '../store/types.ts';
import {
  CALICO_VERSION,
  CSI_HOSTPATH_VERSION,
  CSI_REGISTRAR_VERSION,
  corednsVersionFor,
  METRICS_SERVER_VERSION,
} from './component-versions.ts';
import { type Manifest, serviceObject } from './workload-objects.ts';

const SYSTEM = 'kube-system';
/** DaemonSet pods of node agents run everywhere, control plane included. */
const TOLERATE_ALL = [{ operator: 'Exists' }];
const CRITICAL = 'system-node-critical';

function container(
  name: string,
  image: string,
  cpu: string,
  memory: string,
  extra: Record<string, unknown> = {},
) {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    resources: { requests: { cpu, memory } },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    ...extra,
  };
}

function daemonSet(name: string, labels: Record<string, string>, podSpec: Record<string, unknown>): Manifest {
  return {
    resource: R.daemonsets,
    object: {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name, namespace: SYSTEM, labels },
      spec: {
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            priorityClassName: CRITICAL,
            tolerations: TOLERATE_ALL,
            terminationGracePeriodSeconds: 30,
            restartPolicy: 'Always',
            dnsPolicy: 'ClusterFirst',
            schedulerName: 'default-scheduler',
            ...podSpec,
          },
        },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
        revisionHistoryLimit: 10,
      },
    },
  };
}

function deployment(
  name: string,
  replicas: number,
  labels: Record<string, string>,
  podSpec: Record<string, unknown>,
) {
  return {
    resource: R.deployments,
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: SYSTEM, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            priorityClassName: 'system-cluster-critical',
            terminationGracePeriodSeconds: 30,
            restartPolicy: 'Always',
            dnsPolicy: 'Default',
            schedulerName: 'default-scheduler',
            tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }],
            ...podSpec,
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
    },
  } satisfies Manifest;
}

/**
 * The add-ons every cluster runs in kube-system, as real workloads with version-bearing images: the CNI
 * (calico-node), kube-proxy at the cluster version, CoreDNS with its PDB, a CSI node plugin with its
 * CSIDriver, metrics-server, and an admission webhook with `failurePolicy: Fail` backed by a Deployment
 * in the cluster (the classic way an upgrade blocks itself).
 */
export function addonManifests(kubernetesVersion: string, nextClusterIp: () => string): Manifest[] {
  const coredns = { 'k8s-app': 'kube-dns' };
  const webhook = { app: 'policy-webhook' };
  const vwc: KubeObject = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'policy-webhook' },
    webhooks: [
      {
        name: 'validate.policy.sandbox.midflight.dev',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        matchPolicy: 'Equivalent',
        timeoutSeconds: 10,
        clientConfig: {
          service: { name: 'policy-webhook', namespace: SYSTEM, path: '/validate', port: 443 },
        },
        namespaceSelector: {
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [SYSTEM] }],
        },
        objectSelector: {},
        rules: [
          {
            apiGroups: ['apps'],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['deployments'],
            scope: 'Namespaced',
          },
        ],
      },
    ],
  };
  return [
    daemonSet(
      'calico-node',
      { 'k8s-app': 'calico-node' },
      {
        hostNetwork: true,
        containers: [container('calico-node', `docker.io/calico/node:${CALICO_VERSION}`, '250m', '128Mi')],
      },
    ),
    daemonSet(
      'kube-proxy',
      { 'k8s-app': 'kube-proxy' },
      {
        hostNetwork: true,
        containers: [
          container('kube-proxy', `registry.k8s.io/kube-proxy:${kubernetesVersion}`, '50m', '64Mi', {
            command: ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf'],
          }),
        ],
      },
    ),
    daemonSet(
      'csi-hostpath-node',
      { app: 'csi-hostpath-node' },
      {
        containers: [
          container(
            'hostpath',
            `registry.k8s.io/sig-storage/hostpathplugin:${CSI_HOSTPATH_VERSION}`,
            '10m',
            '32Mi',
          ),
          container(
            'node-driver-registrar',
            `registry.k8s.io/sig-storage/csi-node-driver-registrar:${CSI_REGISTRAR_VERSION}`,
            '10m',
            '16Mi',
          ),
        ],
      },
    ),
    {
      resource: R.csidrivers,
      object: {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'CSIDriver',
        metadata: { name: 'hostpath.csi.k8s.io' },
        spec: {
          attachRequired: false,
          podInfoOnMount: true,
          fsGroupPolicy: 'File',
          requiresRepublish: false,
          storageCapacity: false,
          seLinuxMount: false,
          volumeLifecycleModes: ['Persistent', 'Ephemeral'],
        },
      },
    },
    deployment('coredns', 2, coredns, {
      containers: [
        container(
          'coredns',
          `registry.k8s.io/coredns/coredns:${corednsVersionFor(kubernetesVersion)}`,
          '100m',
          '70Mi',
          {
            args: ['-conf', '/etc/coredns/Corefile'],
            ports: [
              { name: 'dns', containerPort: 53, protocol: 'UDP' },
              { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
            ],
          },
        ),
      ],
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              podAffinityTerm: {
                labelSelector: { matchLabels: coredns },
                topologyKey: 'kubernetes.io/hostname',
              },
            },
          ],
        },
      },
    }),
    {
      resource: R.pdbs,
      object: {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'coredns', namespace: SYSTEM, labels: coredns },
        spec: { selector: { matchLabels: coredns }, minAvailable: 1 },
      },
    },
    {
      resource: R.services,
      object: {
        ...serviceObject('kube-dns', SYSTEM, coredns, '10.96.0.10', 53, 53),
      },
    },
    deployment(
      'metrics-server',
      1,
      { 'k8s-app': 'metrics-server' },
      {
        containers: [
          container(
            'metrics-server',
            `registry.k8s.io/metrics-server/metrics-server:${METRICS_SERVER_VERSION}`,
            '100m',
            '200Mi',
            { args: ['--kubelet-preferred-address-types=InternalIP', '--metric-resolution=15s'] },
          ),
        ],
      },
    ),
    deployment('policy-webhook', 2, webhook, {
      containers: [container('webhook', 'ghcr.io/sandbox-midflight/policy-webhook:v0.4.1', '50m', '64Mi')],
    }),
    {
      resource: R.pdbs,
      object: {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'policy-webhook', namespace: SYSTEM, labels: webhook },
        spec: { selector: { matchLabels: webhook }, maxUnavailable: 1 },
      },
    },
    {
      resource: R.services,
      object: serviceObject('policy-webhook', SYSTEM, webhook, nextClusterIp(), 443, 8443),
    },
    { resource: R.validatingwebhooks, object: vwc },
  ];
}

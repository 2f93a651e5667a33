import { createHash } from 'node:crypto';
import { parseBytes, parseCpuMillis } from '../../core/index.ts';
import type { KubeObject } from '../store/types.ts';
import type { Capacity, NodeImageSpec, Taint } from './scenario-types.ts';

/** The label naming a node's pool; documented in docs/scenarios.md. Control-plane nodes are in "control-plane". */
export const POOL_LABEL = 'midflight.dev/pool';
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
export const ZONES = ['sandbox-1a', 'sandbox-1b', 'sandbox-1c'] as const;
export const REGION = 'sandbox-1';

/** What the kubelet reserves for the system: the difference between capacity and allocatable. */
const RESERVED_CPU_MILLIS = 100;
const RESERVED_MEMORY_KI = 256 * 1024;

export interface NodeParams extends NodeImageSpec {
  name: string;
  /** Position of the node in the cluster, 0-based: picks its addresses, pod CIDR and (by default) zone. */
  index: number;
  /** `topology.kubernetes.io/zone`; default one of ZONES, round-robin by index. */
  zone?: string;
  /** The POOL_LABEL value; none for a node copied from a cluster, which keeps its own labels (src/rehearse). */
  pool?: string;
  kubeletVersion: string;
  capacity: Capacity;
  /** What the node offers to pods, when known (a copied node's own); default capacity less the kubelet's reserve. */
  allocatable?: { cpu: string; memory: string };
  instanceType: string;
  labels: Record<string, string>;
  taints: Taint[];
  now: string;
}

/** A Node as a kubelet registers it, with full status, Ready. */
export function nodeObject(p: NodeParams): KubeObject {
  const zone = p.zone ?? ZONES[p.index % ZONES.length]!;
  const cpu = parseCpuMillis(p.capacity.cpu);
  const memoryKi = Math.floor(parseBytes(p.capacity.memory) / 1024);
  const id = createHash('sha256').update(p.name).digest('hex');
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    lastHeartbeatTime: p.now,
    lastTransitionTime: p.now,
    reason,
    message,
  });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: p.name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': p.name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': p.instanceType,
        'topology.kubernetes.io/region': REGION,
        'topology.kubernetes.io/zone': zone,
        ...(p.pool !== undefined ? { [POOL_LABEL]: p.pool } : {}),
        ...p.labels,
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {
      podCIDR: podCidr(p.index),
      podCIDRs: [podCidr(p.index)],
      providerID: `sandbox://${REGION}/${zone}/${p.name}`,
      ...(p.taints.length > 0 ? { taints: p.taints.map((t) => ({ ...t })) } : {}),
    },
    status: {
      capacity: {
        cpu: p.capacity.cpu,
        'ephemeral-storage': '102400Mi',
        'hugepages-1Gi': '0',
        'hugepages-2Mi': '0',
        memory: `${memoryKi}Ki`,
        pods: p.capacity.pods,
      },
      allocatable: {
        cpu: p.allocatable?.cpu ?? `${Math.max(0, cpu - RESERVED_CPU_MILLIS)}m`,
        'ephemeral-storage': '94371840Ki',
        'hugepages-1Gi': '0',
        'hugepages-2Mi': '0',
        memory: p.allocatable?.memory ?? `${Math.max(0, memoryKi - RESERVED_MEMORY_KI)}Ki`,
        pods: p.capacity.pods,
      },
      conditions: [
        condition(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
        ),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: nodeIp(p.index) },
        { type: 'Hostname', address: p.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: id.slice(0, 32),
        systemUUID: formatUuid(id.slice(32, 64)),
        bootID: formatUuid(createHash('sha256').update(`${p.name}/boot/0`).digest('hex')),
        kernelVersion: p.kernel,
        osImage: p.osImage,
        containerRuntimeVersion: p.containerRuntime,
        kubeletVersion: p.kubeletVersion,
        // Note: deprecated since 1.29 (KEP-4004); kubelets leave it empty.
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

/** The node's InternalIP: 10.0.0.10 onwards, one per node. */
export function nodeIp(index: number): string {
  return ipv4((10 << 24) + 10 + index);
}

/** A /24 per node out of 10.64.0.0/10, as kube-controller-manager's IPAM hands them out. */
export function podCidr(index: number): string {
  return `${ipv4((10 << 24) + (64 << 16) + index * 256)}/24`;
}

/** The n-th pod IP on a node (n from 0). */
export function podIp(nodeIndex: number, n: number): string {
  return ipv4((10 << 24) + (64 << 16) + nodeIndex * 256 + 2 + (n % 250));
}

export function ipv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function formatUuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

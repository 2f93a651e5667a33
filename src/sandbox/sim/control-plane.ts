import { createHash } from 'node:crypto';
import { compareVersions, lowestVersion, parseReleaseVersion, parseVersion } from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { Actor, SandboxContext } from '../context.ts';
import { etcdVersionFor, goVersionFor } from '../scenario/component-versions.ts';
import { runningPodStatus } from '../scenario/pod-status.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { KubeObject } from '../store/types.ts';
import { controlPlaneMembers } from './control-plane-members.ts';

/**
 * What the control plane needs from the kubelet fleet: rebooting a node into a new kubelet version.
 * (The fleet, src/sandbox/sim/kubelet-fleet.ts, implements it.)
 */
export interface NodeRebooter {
  restartNode(
    name: string,
    options: { kubeletVersion?: string; downtimeMs: number; comesBack?: boolean },
  ): Promise<void>;
}

export const CONTROL_PLANE_COMPONENTS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
] as const;
export type ControlPlaneComponent = (typeof CONTROL_PLANE_COMPONENTS)[number];

/** Kubernetes components restarted at the new version by `kubeadm upgrade`, in kubeadm's order. */
const UPGRADED_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

const SYSTEM = 'kube-system';

/** How often the kubelet probes an etcd member's health (kubeadm's etcd probes run every 10 s). */
export const ETCD_PROBE_PERIOD_MS = 10_000;

export interface MemberVersions {
  node: string;
  components: Partial<Record<ControlPlaneComponent, { version: string; ready: boolean }>>;
  kubeletVersion?: string;
}

/**
 * The control plane as kubeadm lays it out: on each control-plane node, static pods for etcd, the API
 * server, the controller manager and the scheduler, visible in the API as mirror pods whose image tags carry
 * the versions. `/version` is derived from them, and upgrading a member restarts them at a new version.
 */
export class ControlPlane implements Actor {
  readonly name = 'control-plane';
  /** Mirror pods being restarted by an upgrade: NotReady until up, whatever the probe says. */
  private readonly restarting = new Set<string>();
  private probeTimer: { cancel(): void } | undefined;

  constructor(
    private readonly ctx: SandboxContext,
    private readonly options: {
      /** Reported by `/version` when no API server pod exists (a cluster without control-plane nodes). */
      fallbackVersion: string;
      rebooter?: NodeRebooter;
    },
  ) {}

  /**
   * Starts the etcd health probes: each member's `etcd-<node>` mirror pod is Ready exactly when the member
   * is healthy (not in `faults.etcdUnhealthy`), as the kubelet's probe of etcd's health endpoint makes it
   * on a kubeadm node. Clients read member health and quorum from these pods.
   */
  start(): void {
    const tick = () => {
      this.probeEtcd();
      this.probeTimer = this.ctx.clock.setTimer(ETCD_PROBE_PERIOD_MS, tick);
    };
    tick();
  }

  stop(): void {
    this.probeTimer?.cancel();
    this.probeTimer = undefined;
  }

  private etcdHealthy(node: string): boolean {
    return !this.ctx.faults.etcdUnhealthy.has(node);
  }

  private probeEtcd(): void {
    for (const node of this.members()) {
      const name = `etcd-${node}`;
      if (this.restarting.has(name)) continue;
      const healthy = this.etcdHealthy(node);
      this.ctx.store.mutate(R.pods, SYSTEM, name, (pod) => {
        if (isReady(pod) === healthy) return false;
        this.setReady(pod, healthy);
      });
    }
  }

  private setReady(pod: KubeObject, ready: boolean): void {
    const startTime = pod.status?.startTime;
    pod.status = runningPodStatus({
      containers: pod.spec.containers,
      hostIP: pod.status.hostIP,
      podIP: pod.status.podIP,
      now: rfc3339(this.ctx.clock.now()),
      ready,
      seed: pod.metadata.annotations!['kubernetes.io/config.hash']!,
    });
    pod.status.startTime = startTime ?? pod.metadata.creationTimestamp;
  }

  /** Control-plane node names, sorted. */
  members(): string[] {
    return [...controlPlaneMembers(this.ctx.store)];
  }

  /** Creates the mirror pods of one member, all at `version` (etcd at the version kubeadm pins for it). */
  bootstrapMember(node: string, version: string): void {
    for (const component of CONTROL_PLANE_COMPONENTS) {
      const image = imageFor(component, version);
      this.ctx.store.create(R.pods, this.mirrorPod(node, component, image, true));
    }
  }

  memberVersions(): MemberVersions[] {
    return this.members().map((node) => {
      const components: MemberVersions['components'] = {};
      for (const component of CONTROL_PLANE_COMPONENTS) {
        const pod = this.ctx.store.get(R.pods, SYSTEM, `${component}-${node}`);
        if (!pod) continue;
        components[component] = { version: imageTag(pod), ready: isReady(pod) };
      }
      const kubeletVersion = this.ctx.store.get(R.nodes, undefined, node)?.status?.nodeInfo?.kubeletVersion;
      return { node, components, kubeletVersion };
    });
  }

  /**
   * The version the API reports: the LOWEST kube-apiserver among the members.
   * Note: during a control-plane upgrade the members disagree, and a client may reach any of them through the
   * load balancer. Reporting the lowest is the conservative reading: "the whole control plane is at least X",
   * so nothing that needs the new version runs before every member has it.
   */
  apiServerVersion(): string {
    const versions: string[] = [];
    for (const m of this.members()) {
      const pod = this.ctx.store.get(R.pods, SYSTEM, `kube-apiserver-${m}`);
      if (pod) versions.push(imageTag(pod));
    }
    return lowestVersion(versions) ?? this.options.fallbackVersion;
  }

  /** The body of `GET /version` (with the emulation and compatibility fields from 1.33 on). */
  versionInfo(): Record<string, string> {
    return versionInfoFor(this.apiServerVersion());
  }

  /**
   * Upgrades one member as `kubeadm upgrade apply|node` does: etcd (when kubeadm pins a new version for it),
   * then the API server, the controller manager and the scheduler are restarted one after the other at
   * `version`, each NotReady for its share of `timing.controlPlaneUpgradeMs`; then the node's kubelet is
   * restarted at `version` when it differs. `comesBack: false` leaves the node down after its reboot.
   */
  async upgradeMember(node: string, version: string, options: { comesBack?: boolean } = {}): Promise<void> {
    if (!parseReleaseVersion(version))
      throw new RangeError(`expected a version like "v1.31.4", got ${JSON.stringify(version)}`);
    if (!this.members().includes(node)) throw new Error(`node ${node} is not a control-plane member`);
    const etcdPod = this.ctx.store.get(R.pods, SYSTEM, `etcd-${node}`);
    const etcdChanges = etcdPod !== undefined && imageTag(etcdPod) !== etcdVersionFor(version);
    const stepMs =
      this.ctx.timing.controlPlaneUpgradeMs / (UPGRADED_COMPONENTS.length + (etcdChanges ? 1 : 0));
    if (etcdChanges) await this.restartComponent(node, 'etcd', imageFor('etcd', version), stepMs);
    for (const component of UPGRADED_COMPONENTS) {
      await this.restartComponent(node, component, imageFor(component, version), stepMs);
    }
    const current = this.ctx.store.get(R.nodes, undefined, node)?.status?.nodeInfo?.kubeletVersion;
    if (current === version) return;
    if (this.options.rebooter) {
      await this.options.rebooter.restartNode(node, {
        kubeletVersion: version,
        downtimeMs: this.ctx.timing.nodeUpgradeMs,
        comesBack: options.comesBack ?? true,
      });
    } else {
      this.ctx.store.mutate(R.nodes, undefined, node, (n) => {
        n.status.nodeInfo.kubeletVersion = version;
      });
    }
  }

  /**
   * A static pod whose manifest changed: the kubelet replaces the mirror pod (new uid and hash), which
   * starts unready and turns Ready once the component is healthy.
   */
  private async restartComponent(
    node: string,
    component: ControlPlaneComponent,
    image: string,
    downMs: number,
  ) {
    const name = `${component}-${node}`;
    this.restarting.add(name);
    try {
      this.ctx.store.remove(R.pods, SYSTEM, name);
      this.ctx.store.create(R.pods, this.mirrorPod(node, component, image, false));
      await this.ctx.clock.sleep(downMs);
      this.ctx.store.mutate(R.pods, SYSTEM, name, (pod) => {
        // A newer restart may have replaced this pod meanwhile; only the pod of this restart turns Ready here.
        if (pod.spec.containers[0].image !== image) return false;
        this.setReady(pod, component !== 'etcd' || this.etcdHealthy(node));
        pod.status.startTime = pod.metadata.creationTimestamp;
      });
    } finally {
      this.restarting.delete(name);
    }
  }

  private mirrorPod(
    node: string,
    component: ControlPlaneComponent,
    image: string,
    ready: boolean,
  ): KubeObject {
    const nodeObject = this.ctx.store.mustGet(R.nodes, undefined, node);
    const hostIP: string =
      nodeObject.status?.addresses?.find((a: { type: string }) => a.type === 'InternalIP')?.address ??
      '10.0.0.10';
    const hash = createHash('sha256').update(`${node}/${component}/${image}`).digest('hex').slice(0, 32);
    const now = rfc3339(this.ctx.clock.now());
    const containers = [
      {
        name: component,
        image,
        imagePullPolicy: 'IfNotPresent',
        command: commandOf(component, hostIP),
        resources: { requests: component === 'etcd' ? { cpu: '100m', memory: '100Mi' } : { cpu: '200m' } },
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
      },
    ];
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${component}-${node}`,
        namespace: SYSTEM,
        labels: { component, tier: 'control-plane' },
        annotations: {
          ...(component === 'kube-apiserver'
            ? { 'kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint': `${hostIP}:6443` }
            : {}),
          ...(component === 'etcd'
            ? { 'kubeadm.kubernetes.io/etcd.advertise-client-urls': `https://${hostIP}:2379` }
            : {}),
          'kubernetes.io/config.hash': hash,
          'kubernetes.io/config.mirror': hash,
          'kubernetes.io/config.seen': now,
          'kubernetes.io/config.source': 'file',
        },
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Node', name: node, uid: nodeObject.metadata.uid!, controller: true },
        ],
      },
      spec: {
        nodeName: node,
        hostNetwork: true,
        priority: 2000001000,
        priorityClassName: 'system-node-critical',
        containers,
        dnsPolicy: 'ClusterFirst',
        enableServiceLinks: true,
        restartPolicy: 'Always',
        schedulerName: 'default-scheduler',
        securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
        terminationGracePeriodSeconds: 30,
        tolerations: [{ effect: 'NoExecute', operator: 'Exists' }],
      },
      status: runningPodStatus({ containers, hostIP, podIP: hostIP, now, ready, seed: hash }),
    };
  }
}

function imageFor(component: ControlPlaneComponent, version: string): string {
  return component === 'etcd'
    ? `registry.k8s.io/etcd:${etcdVersionFor(version)}`
    : `registry.k8s.io/${component}:${version}`;
}

/** The version a control-plane pod runs: its image tag. */
export function imageTag(pod: KubeObject): string {
  const image: string = pod.spec?.containers?.[0]?.image ?? '';
  return image.slice(image.lastIndexOf(':') + 1);
}

function isReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
  );
}

function commandOf(component: ControlPlaneComponent, hostIP: string): string[] {
  switch (component) {
    case 'etcd':
      return ['etcd', `--advertise-client-urls=https://${hostIP}:2379`, '--data-dir=/var/lib/etcd'];
    case 'kube-apiserver':
      return [
        'kube-apiserver',
        `--advertise-address=${hostIP}`,
        '--secure-port=6443',
        '--etcd-servers=https://127.0.0.1:2379',
      ];
    case 'kube-controller-manager':
      return [
        'kube-controller-manager',
        '--leader-elect=true',
        '--kubeconfig=/etc/kubernetes/controller-manager.conf',
      ];
    case 'kube-scheduler':
      return ['kube-scheduler', '--leader-elect=true', '--kubeconfig=/etc/kubernetes/scheduler.conf'];
  }
}

/**
 * The `/version` body of an API server at `version`, in the shape the real one has (reference §6). The commit
 * and build date are derived from the version so they are stable across runs.
 */
export function versionInfoFor(version: string): Record<string, string> {
  const v = parseVersion(version);
  const major = String(v.major);
  const minor = String(v.minor);
  const buildDate = new Date(Date.UTC(2024, 3 + (v.minor - 30) * 4 + v.patch, 15, 12, 0, 0));
  const emulation: Record<string, string> =
    compareVersions(v, parseVersion('v1.33.0')) >= 0
      ? {
          emulationMajor: major,
          emulationMinor: minor,
          minCompatibilityMajor: major,
          minCompatibilityMinor: String(v.minor - 1),
        }
      : {};
  return {
    major,
    minor,
    ...emulation,
    gitVersion: version,
    gitCommit: createHash('sha1').update(`kubernetes ${version}`).digest('hex'),
    gitTreeState: 'clean',
    buildDate: buildDate.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    goVersion: goVersionFor(version),
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/**
 * The kubelet's reports about its node: the node status (conditions, nodeInfo, addresses, pod CIDR) posted
 * at start-up, when the kubelet goes down, and otherwise every 5 minutes (jittered), as the real kubelet's
 * nodeStatusReportFrequency; the node's heartbeat Lease (node-leases.ts); and the node Events a kubelet
 * writes (`Starting`, `Rebooted`, `NodeHasSufficientMemory`…, `NodeAllocatableEnforced`, `NodeReady`,
 * `NodeNotReady`, `NodeNotSchedulable`, `NodeSchedulable`).
 */
import { R } from '../api/resources.ts';
import type { SandboxContext } from '../context.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { KubeObject } from '../store/types.ts';
import { contain } from './contain-errors.ts';
import type { DeferredWrites } from './deferred-writes.ts';
import { NodeLeases } from './node-leases.ts';
import { setNodeCondition } from './node-status.ts';
import { KUBELET_ACTOR, type SimKubelet } from './sim-kubelet.ts';

/** The kubelet's nodeStatusReportFrequency. */
const NODE_STATUS_REPORT_MS = 5 * 60_000;
const KUBELET_DOWN = { reason: 'KubeletNotReady', message: 'container runtime is down' } as const;

const HEALTHY_CONDITIONS: Array<[string, string, string]> = [
  ['MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ['NetworkUnavailable', 'RouteCreated', 'RouteController created a route'],
];

export interface StatusOnStart {
  /** The node's place among all nodes, for the InternalIP of a node that has no addresses yet. */
  nodeIndex?: number;
  /** The kubelet (and kube-proxy, when the node reports one) version it starts at. */
  kubeletVersion?: string;
  /** A reboot: a new bootID and a `Rebooted` Event. */
  rebooted?: boolean;
  /** A node that has been running when the sandbox starts: no start-up Events. */
  quiet?: boolean;
}

export class NodeStatusReporter {
  private readonly leases: NodeLeases;

  /** `kubelets` is the fleet's own map, read here: a kubelet replaced or removed stops reporting. */
  constructor(
    private readonly ctx: SandboxContext,
    private readonly kubelets: ReadonlyMap<string, SimKubelet>,
    private readonly deferred: DeferredWrites,
  ) {
    this.leases = new NodeLeases(ctx, (name) => this.kubelets.get(name)?.alive ?? false);
  }

  stop(): void {
    this.leases.stop();
    for (const kubelet of this.kubelets.values()) kubelet.heartbeat?.cancel();
  }

  /** The first status report of a kubelet just added comes at a random time within the report period. */
  startHeartbeats(kubelet: SimKubelet): void {
    this.scheduleHeartbeat(kubelet, this.ctx.random() * NODE_STATUS_REPORT_MS);
  }

  /** Reports again, a report period (jittered) from now: after the kubelet came back. */
  resumeHeartbeats(kubelet: SimKubelet): void {
    this.scheduleHeartbeat(kubelet, NODE_STATUS_REPORT_MS * (0.9 + 0.2 * this.ctx.random()));
  }

  /** The kubelet starts: posts a Ready status, takes its Lease on, and records its start-up Events. */
  reportStarted(kubelet: SimKubelet, opts: StatusOnStart): KubeObject | undefined {
    const node = this.postNodeStatus(kubelet, {
      nodeIndex: opts.nodeIndex,
      kubeletVersion: opts.kubeletVersion,
      newBoot: opts.rebooted,
    });
    this.leases.add(kubelet.name);
    if (!opts.quiet && node) this.recordStartup(kubelet, node, { rebooted: opts.rebooted === true });
    return node;
  }

  /**
   * The kubelet posts a last status, Ready=False `KubeletNotReady` "container runtime is down" (the runtime
   * goes first), then stops posting.
   */
  reportDown(kubelet: SimKubelet): void {
    this.leases.catchUp();
    this.postNodeStatus(kubelet, { ready: false });
    this.nodeEvent(kubelet, 'Normal', 'NodeNotReady', `Node ${kubelet.name} status is now: NodeNotReady`);
    kubelet.heartbeat?.cancel();
  }

  /** Called just before a kubelet that was down runs again (see NodeLeases.catchUp). */
  beforeKubeletStarts(): void {
    this.leases.catchUp();
  }

  /** The node is gone: no more reports, and its Lease goes too. */
  forget(kubelet: SimKubelet): void {
    kubelet.heartbeat?.cancel();
    this.leases.remove(kubelet.name, true);
  }

  /** The kubelet reports a change of spec.unschedulable (a cordon or uncordon) as an Event on its node. */
  noticeSchedulable(name: string, node: KubeObject, opts: { now?: boolean } = {}): void {
    const kubelet = this.kubelets.get(name);
    const unschedulable = node.spec?.unschedulable === true;
    if (!kubelet?.alive || kubelet.unschedulable === unschedulable) return;
    kubelet.unschedulable = unschedulable;
    const reason = unschedulable ? 'NodeNotSchedulable' : 'NodeSchedulable';
    const record = () => this.nodeEvent(kubelet, 'Normal', reason, `Node ${name} status is now: ${reason}`);
    if (opts.now) record();
    else this.deferred.defer(record);
  }

  private scheduleHeartbeat(kubelet: SimKubelet, delayMs: number): void {
    kubelet.heartbeat = this.ctx.clock.setTimer(delayMs, () => {
      if (!kubelet.alive || this.kubelets.get(kubelet.name) !== kubelet) return;
      // Note: contained, so a status the kubelet fails to post stops no later heartbeat.
      contain(this.ctx, KUBELET_ACTOR, () => this.postNodeStatus(kubelet, {}));
      this.resumeHeartbeats(kubelet);
    });
  }

  /**
   * The kubelet's view of its node: conditions, nodeInfo, addresses, heartbeat time.
   * Note: built from the stored node, sharing every part it leaves as it was (capacity, allocatable, images,
   * the spec), instead of editing a draft: reading `status` through a draft copies all of it, and a node's
   * status is mostly its image list. A report every 5 minutes per node is most of what an idle copy writes.
   */
  private postNodeStatus(
    kubelet: SimKubelet,
    opts: { ready?: false; nodeIndex?: number; kubeletVersion?: string; newBoot?: boolean },
  ): KubeObject | undefined {
    const current = this.ctx.store.get(R.nodes, undefined, kubelet.name);
    if (!current) return undefined;
    const now = rfc3339(this.ctx.clock.now());
    const status = { ...(current.status ?? {}) };
    status.conditions = [...(Array.isArray(status.conditions) ? status.conditions : [])];
    const ready = opts.ready === false ? KUBELET_DOWN : undefined;
    setNodeCondition(
      status,
      ready
        ? { type: 'Ready', status: 'False', ...ready }
        : {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
          },
      now,
      now,
    );
    for (const [type, reason, message] of HEALTHY_CONDITIONS)
      setNodeCondition(status, { type, status: 'False', reason, message }, now, now);
    const info = { ...(status.nodeInfo ?? {}) };
    status.nodeInfo = info;
    if (!info.bootID || opts.newBoot) info.bootID = this.uuid();
    info.machineID ??= this.uuid().replaceAll('-', '');
    info.systemUUID ??= this.uuid();
    info.operatingSystem ??= 'linux';
    info.architecture ??= 'amd64';
    if (opts.kubeletVersion) {
      info.kubeletVersion = opts.kubeletVersion;
      if (info.kubeProxyVersion) info.kubeProxyVersion = opts.kubeletVersion;
    }
    if (opts.nodeIndex !== undefined && !status.addresses) {
      const i = opts.nodeIndex;
      status.addresses = [
        { type: 'InternalIP', address: `10.0.${(i >> 8) & 255}.${i & 255}` },
        { type: 'Hostname', address: kubelet.name },
      ];
    }
    status.daemonEndpoints ??= { kubeletEndpoint: { Port: 10250 } };
    const podCIDR = current.spec?.podCIDR ? undefined : `${kubelet.podNet}0/24`;
    return this.ctx.store.mutate(R.nodes, undefined, kubelet.name, (node) => {
      node.status = status;
      if (podCIDR) node.spec = { ...current.spec, podCIDR, podCIDRs: [podCIDR] };
    });
  }

  /**
   * What a kubelet records as it starts: `Starting`, `Rebooted` (a new boot ID), the node's healthy
   * conditions, `NodeAllocatableEnforced`, `NodeReady`, and `NodeNotSchedulable` when the node is cordoned.
   */
  private recordStartup(kubelet: SimKubelet, node: KubeObject, opts: { rebooted: boolean }): void {
    const name = kubelet.name;
    this.nodeEvent(kubelet, 'Normal', 'Starting', 'Starting kubelet.');
    if (opts.rebooted)
      this.nodeEvent(
        kubelet,
        'Warning',
        'Rebooted',
        `Node ${name} has been rebooted, boot id: ${node.status?.nodeInfo?.bootID ?? ''}`,
      );
    for (const [, condition] of HEALTHY_CONDITIONS.slice(0, 3)) {
      const reason = nodeStatusWord(condition);
      this.nodeEvent(kubelet, 'Normal', reason, `Node ${name} status is now: ${reason}`);
    }
    this.nodeEvent(
      kubelet,
      'Normal',
      'NodeAllocatableEnforced',
      'Updated Node Allocatable limit across pods',
    );
    this.nodeEvent(kubelet, 'Normal', 'NodeReady', `Node ${name} status is now: NodeReady`);
    kubelet.unschedulable = false;
    this.noticeSchedulable(name, node, { now: true });
  }

  private nodeEvent(kubelet: SimKubelet, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const involved: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: kubelet.name } };
    this.ctx.recordEvent(involved, type, reason, message, 'kubelet', {
      host: kubelet.name,
      involvedUid: kubelet.name,
    });
  }

  private uuid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.ctx.random() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
}

/** "NodeHasSufficientMemory" from "KubeletHasSufficientMemory": how the kubelet names a condition in Events. */
function nodeStatusWord(reason: string): string {
  return reason.replace(/^Kubelet/, 'Node');
}

import { createHash } from 'node:crypto';
import { Histogram, type Registry } from 'prom-client';
import { R } from '../api/resources.ts';
import type { Actor, SandboxContext } from '../context.ts';
import { rfc3339 } from '../store/deletion.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { KubeObject, StoreEvent } from '../store/types.ts';
import { contain, contained } from './contain-errors.ts';

/** A cloud disk attaches to a node in a few seconds. */
const ATTACH_MS = 2_000;
const DETACH_MS = 1_000;
/** A failed attach is tried again this long after (the real controller backs off from 0.5 s to 2 min). */
const RETRY_MS = 10_000;
/** kube-controller-manager's buckets for storage operations. */
const STORAGE_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 25, 50, 120, 300, 600];
const COMPONENT = 'attachdetach-controller';

interface TrackedVolume extends VolumeToAttach {
  attached: boolean;
  timer?: { cancel(): void };
}

/**
 * kube-controller-manager's attach-detach controller for the volumes that need attaching: a pod's generic
 * ephemeral volume whose StorageClass's CSI driver requires attach (no CSIDriver object, or one without
 * `attachRequired: false`). When such a pod is bound to a node the volume is attached there (a
 * VolumeAttachment `csi-<hash>`, `status.attached`), and detached when the pod is gone or has finished.
 * Each operation is observed in `storage_operation_duration_seconds{volume_plugin, operation_name
 * (volume_attach, volume_detach), status (success, fail-unknown), migrated}`.
 *
 * The `csiAttachFailures` fault (storage classes, or "*") makes the attaches of those classes fail: the
 * VolumeAttachment shows the `attachError`, the pod gets a `FailedAttachVolume` Warning Event, and the
 * attach is retried every 10 s until the fault is cleared.
 *
 * The kubelet starts the pod's containers only once its volumes are attached (`volumesAttached`), so a
 * failing attach keeps the pod ContainerCreating, as on a real node.
 */
export class AttachDetachController implements Actor {
  readonly name = 'attach-detach';
  /** The volumes each pod (`namespace/name`) needs attached, by volume key. */
  private readonly byPod = new Map<string, Map<string, TrackedVolume>>();
  private readonly operations: Histogram<'volume_plugin' | 'operation_name' | 'status' | 'migrated'>;
  private stopWatching?: () => void;

  constructor(private readonly ctx: SandboxContext) {
    this.operations = storageOperationHistogram(ctx.metrics);
  }

  start(): void {
    if (this.stopWatching) return;
    // The pods bound when the sandbox starts have had their volumes attached long ago.
    for (const pod of this.ctx.store.list(R.pods)) {
      const volumes = this.volumesToAttach(pod);
      if (volumes.length === 0) continue;
      this.byPod.set(podKeyOf(pod), new Map(volumes.map((v) => [keyOf(v), v])));
      for (const v of volumes) {
        v.attached = true;
        this.writeAttachment(v, undefined);
      }
    }
    this.stopWatching = this.ctx.store.onChange(
      contained(this.ctx, this.name, (event) => this.onChange(event)),
    );
  }

  stop(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
    for (const volumes of this.byPod.values()) for (const v of volumes.values()) v.timer?.cancel();
    this.byPod.clear();
  }

  /** In a store listener: plans only (timers); the writes happen when they fire. */
  private onChange(event: StoreEvent): void {
    if (event.resource !== R.pods) return;
    const pod = event.object;
    const podKey = podKeyOf(pod);
    const tracked = this.byPod.get(podKey);
    const wanted = event.type === 'DELETED' || isFinished(pod) ? [] : this.volumesToAttach(pod);
    if (!tracked && wanted.length === 0) return;
    const next = new Map<string, TrackedVolume>();
    for (const v of wanted) {
      const key = keyOf(v);
      const known = tracked?.get(key);
      if (known) {
        next.set(key, known);
        continue;
      }
      next.set(key, v);
      v.timer = this.ctx.clock.setTimer(ATTACH_MS, () => this.attach(v));
    }
    for (const [key, v] of tracked ?? []) {
      if (next.has(key)) continue;
      v.timer?.cancel();
      if (v.attached) this.ctx.clock.setTimer(DETACH_MS, () => this.detach(v));
    }
    if (next.size > 0) this.byPod.set(podKey, next);
    else this.byPod.delete(podKey);
  }

  private attach(v: TrackedVolume): void {
    if (this.byPod.get(`${v.namespace}/${v.pod}`)?.get(keyOf(v)) !== v || !this.stopWatching) return;
    const failing = this.ctx.faults.csiAttachFailures;
    const fails = failing.has(v.storageClass) || failing.has('*');
    contain(this.ctx, this.name, () => {
      const seconds = ATTACH_MS / 1000;
      const labels = { volume_plugin: v.plugin, operation_name: 'volume_attach', migrated: 'false' };
      if (!fails) {
        v.attached = true;
        this.operations.observe({ ...labels, status: 'success' }, seconds);
        this.writeAttachment(v, undefined);
        return;
      }
      const message = `rpc error: code = Internal desc = could not attach volume to node ${v.node}: the storage backend of class ${v.storageClass} refused the attach`;
      this.operations.observe({ ...labels, status: 'fail-unknown' }, seconds);
      this.writeAttachment(v, message);
      const pod = this.ctx.store.get(R.pods, v.namespace, v.pod);
      if (pod)
        this.ctx.recordEvent(
          pod,
          'Warning',
          'FailedAttachVolume',
          `AttachVolume.Attach failed for volume "${v.attachment}" : ${message}`,
          COMPONENT,
        );
    });
    if (!fails) return;
    v.timer = this.ctx.clock.setTimer(RETRY_MS, () => this.attach(v));
  }

  private detach(v: TrackedVolume): void {
    if (!this.stopWatching) return;
    contain(this.ctx, this.name, () => {
      this.ctx.store.remove(R.volumeattachments, undefined, v.attachment);
      this.operations.observe(
        { volume_plugin: v.plugin, operation_name: 'volume_detach', status: 'success', migrated: 'false' },
        DETACH_MS / 1000,
      );
    });
  }

  private writeAttachment(v: TrackedVolume, attachError: string | undefined): void {
    const status = {
      attached: attachError === undefined,
      ...(attachError ? { attachError: { time: rfc3339(this.ctx.clock.now()), message: attachError } } : {}),
    };
    const existing = this.ctx.store.get(R.volumeattachments, undefined, v.attachment);
    if (existing) {
      this.ctx.store.mutate(R.volumeattachments, undefined, v.attachment, (draft) => {
        draft.status = status;
      });
      return;
    }
    this.ctx.store.create(R.volumeattachments, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttachment',
      metadata: { name: v.attachment },
      spec: {
        attacher: v.attacher,
        nodeName: v.node,
        source: { persistentVolumeName: persistentVolumeOf(v) },
      },
      status,
    });
  }

  private volumesToAttach(pod: KubeObject): TrackedVolume[] {
    return volumesToAttach(this.ctx.store, pod).map((v) => ({ ...v, attached: false }));
  }
}

/** One volume a pod's node must have attached before the pod can use it. */
export interface VolumeToAttach {
  podUid: string;
  namespace: string;
  pod: string;
  volume: string;
  node: string;
  storageClass: string;
  /** `kubernetes.io/csi:<driver>`, as storage_operation_duration_seconds labels it. */
  plugin: string;
  attacher: string;
  /** The VolumeAttachment's name. */
  attachment: string;
}

/**
 * The volumes of a bound, unfinished pod that its node must have attached: its generic ephemeral volumes
 * whose StorageClass's driver attaches (no CSIDriver object, or one without `attachRequired: false`).
 */
export function volumesToAttach(store: ObjectStore, pod: KubeObject): VolumeToAttach[] {
  const node: unknown = pod.spec?.nodeName;
  const volumes: unknown = pod.spec?.volumes;
  if (typeof node !== 'string' || !node || !Array.isArray(volumes) || isFinished(pod)) return [];
  const out: VolumeToAttach[] = [];
  for (const volume of volumes as Array<Record<string, unknown>>) {
    const storageClass = storageClassOf(volume);
    if (!storageClass) continue;
    const provisioner: unknown = store.get(R.storageclasses, undefined, storageClass)?.provisioner;
    // Note: a claim of a class that does not exist stays Pending, and its pod would never be bound.
    if (typeof provisioner !== 'string') continue;
    if (store.get(R.csidrivers, undefined, provisioner)?.spec?.attachRequired === false) continue;
    const v: VolumeToAttach = {
      podUid: pod.metadata.uid ?? '',
      namespace: pod.metadata.namespace ?? '',
      pod: pod.metadata.name ?? '',
      volume: String(volume.name ?? ''),
      node,
      storageClass,
      plugin: `kubernetes.io/csi:${provisioner}`,
      attacher: provisioner,
      attachment: '',
    };
    v.attachment = `csi-${createHash('sha256')
      .update(`${persistentVolumeOf(v)}${provisioner}${node}`)
      .digest('hex')}`;
    out.push(v);
  }
  return out;
}

/** Whether the node has every volume the pod needs attached (what the kubelet waits for to start it). */
export function volumesAttached(store: ObjectStore, pod: KubeObject): boolean {
  return volumesToAttach(store, pod).every(
    (v) => store.get(R.volumeattachments, undefined, v.attachment)?.status?.attached === true,
  );
}

function podKeyOf(pod: KubeObject): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

/** A volume of one pod incarnation on one node: a pod re-created under the same name attaches anew. */
function keyOf(v: VolumeToAttach): string {
  return `${v.volume}@${v.podUid}@${v.node}`;
}

/** The PersistentVolume a generic ephemeral volume's claim is bound to, named as the provisioner names it. */
function persistentVolumeOf(v: Pick<VolumeToAttach, 'podUid' | 'volume'>): string {
  const hash = createHash('sha256').update(`${v.podUid}/${v.volume}`).digest('hex');
  return `pvc-${hash.slice(0, 8)}-${hash.slice(8, 12)}-${hash.slice(12, 16)}-${hash.slice(16, 20)}-${hash.slice(20, 32)}`;
}

function storageClassOf(volume: Record<string, unknown>): string | undefined {
  const ephemeral = volume.ephemeral as
    | { volumeClaimTemplate?: { spec?: { storageClassName?: unknown } } }
    | undefined;
  const name = ephemeral?.volumeClaimTemplate?.spec?.storageClassName;
  return typeof name === 'string' && name ? name : undefined;
}

/** A finished pod's volumes are detached; a terminating one keeps them until it is gone. */
function isFinished(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

function storageOperationHistogram(
  registry: Registry,
): Histogram<'volume_plugin' | 'operation_name' | 'status' | 'migrated'> {
  registry.removeSingleMetric('storage_operation_duration_seconds');
  return new Histogram({
    name: 'storage_operation_duration_seconds',
    help: 'Storage operation duration',
    labelNames: ['volume_plugin', 'operation_name', 'status', 'migrated'],
    buckets: STORAGE_BUCKETS,
    registers: [registry],
  });
}

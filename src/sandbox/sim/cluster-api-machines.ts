/**
 * Cluster API's Machine controller, simulated, with the sandbox's cloud (node-provisioner.ts) as the
 * infrastructure provider: a new Machine asks for one machine of the pool its `infrastructureRef` names,
 * at its `spec.version` (boot time, `nodeCreateFailures`, `nodesNeverJoin` and `poolQuota` apply), and
 * records it as `spec.providerID: sandbox:///NODE`; its phase follows: Provisioning while the machine boots,
 * Provisioned when it booted but its kubelet never registers, Running with `status.nodeRef` once the Node is
 * there (and a NodeHealthy condition that follows the Node's Ready), Failed with `failureReason` and
 * `failureMessage` when the create was refused. A Machine being deleted (its finalizer holds it) is Deleting
 * until its node is deleted, then goes.
 *
 * Simplified: Cluster API would drain the node before deleting it (kubectl drain's rules); this controller
 * deletes it at once, so a caller that cares (midflight) drains first, as it does for every provider.
 */
import {
  CAPI_CLUSTER_NAME_LABEL,
  CAPI_MACHINE_ANNOTATION,
  CAPI_MACHINE_FINALIZER,
  type MachinePhase,
} from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { Actor, SandboxContext } from '../context.ts';
import type { KubeObject, StoreEvent } from '../store/types.ts';
import { contained, reportSimulationError } from './contain-errors.ts';
import { controllerRefOf } from './controllers/owner-refs.ts';
import { updateStatusIfChanged } from './controllers/status-writer.ts';
import { queueKey, splitQueueKey, WorkQueue } from './controllers/work-queue.ts';
import { type NodeProvisioner, ProvisionError } from './node-provisioner.ts';

const PROVIDER_ID_PREFIX = 'sandbox:///';

/** The Node name a Machine's providerID points at, if it has one. */
export function nodeOfMachine(machine: KubeObject): string | undefined {
  const id: unknown = machine.spec?.providerID;
  return typeof id === 'string' && id.startsWith(PROVIDER_ID_PREFIX)
    ? id.slice(PROVIDER_ID_PREFIX.length)
    : undefined;
}

export function providerIdOf(node: string): string {
  return `${PROVIDER_ID_PREFIX}${node}`;
}

export class MachineController implements Actor {
  readonly name = 'machine-controller';
  private readonly queue: WorkQueue;
  /** Node name → the Machine's queue key, so a Node's change wakes its Machine. */
  private readonly byNode = new Map<string, string>();
  private unsubscribe?: () => void;

  constructor(
    private readonly ctx: SandboxContext,
    private readonly provisioner: NodeProvisioner,
  ) {
    this.queue = new WorkQueue(ctx.clock, (key) => this.sync(key), {
      onError: (_key, err) => reportSimulationError(ctx, this.name, err),
    });
  }

  start(): void {
    for (const machine of this.ctx.store.list(R.machines)) this.track(machine);
    this.unsubscribe = this.ctx.store.onChange(
      contained(this.ctx, this.name, (event: StoreEvent) => this.onChange(event)),
    );
  }

  stop(): void {
    this.unsubscribe?.();
    this.queue.stop();
  }

  private onChange(event: StoreEvent): void {
    if (event.resource === R.machines) {
      if (event.type === 'DELETED') {
        const node = nodeOfMachine(event.object);
        if (node) this.byNode.delete(node);
      } else this.track(event.object);
    } else if (event.resource === R.nodes) {
      const key = this.byNode.get(event.object.metadata.name ?? '');
      if (key) this.queue.add(key);
    }
  }

  private track(machine: KubeObject): void {
    const key = queueKey(machine.metadata.namespace, machine.metadata.name);
    const node = nodeOfMachine(machine);
    if (node) this.byNode.set(node, key);
    this.queue.add(key);
  }

  private sync(key: string): void {
    const { store } = this.ctx;
    const [namespace, name] = splitQueueKey(key);
    const machine = store.get(R.machines, namespace, name);
    if (!machine) return;
    const node = nodeOfMachine(machine);
    if (machine.metadata.deletionTimestamp) {
      this.finishDeletion(machine, node);
      return;
    }
    if (machine.status?.phase === 'Failed') return;
    if (!node) {
      this.provision(machine);
      return;
    }

    const registered = store.get(R.nodes, undefined, node);
    if (!registered) {
      // Booting, or booted and never registering (the `nodesNeverJoin` fault); a Node that went away keeps
      // the nodeRef it had, as Cluster API does until a health check remediates the Machine.
      const joins = this.provisioner.list().find((m) => m.name === node)?.state !== 'never-joins';
      if (!machine.status?.nodeRef)
        this.writeStatus(machine, { phase: joins ? 'Provisioning' : 'Provisioned' });
      return;
    }
    this.annotateNode(machine, registered);
    const ready = (registered.status?.conditions ?? []).some(
      (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
    );
    this.writeStatus(machine, {
      phase: 'Running',
      nodeRef: { apiVersion: 'v1', kind: 'Node', name: node, uid: registered.metadata.uid },
      conditions: [{ type: 'NodeHealthy', status: ready ? 'True' : 'False' }],
    });
  }

  /** Asks the sandbox's cloud for the Machine's node; a refusal is the Machine's failure. */
  private provision(machine: KubeObject): void {
    const pool = machine.spec?.infrastructureRef?.name;
    try {
      if (typeof pool !== 'string' || pool === '')
        throw new ProvisionError(400, 'spec.infrastructureRef.name must name a node pool of the sandbox');
      const [made] = this.provisioner.create({ pool, version: String(machine.spec?.version), count: 1 });
      this.ctx.store.mutate(R.machines, machine.metadata.namespace, machine.metadata.name ?? '', (draft) => {
        draft.spec = { ...draft.spec, providerID: providerIdOf(made!.name) };
        draft.status = {
          ...draft.status,
          phase: made!.state === 'never-joins' ? 'Provisioned' : 'Provisioning',
          bootstrapReady: true,
        };
      });
    } catch (err) {
      if (!(err instanceof ProvisionError)) throw err;
      this.writeStatus(machine, {
        phase: 'Failed',
        failureReason: 'CreateError',
        failureMessage: err.message,
      });
    }
  }

  private finishDeletion(machine: KubeObject, node: string | undefined): void {
    this.writeStatus(machine, { phase: 'Deleting' });
    if (node) {
      try {
        this.provisioner.delete(node);
      } catch (err) {
        if (!(err instanceof ProvisionError && err.code === 404)) throw err;
      }
    }
    const { store } = this.ctx;
    const left = store.mutate(
      R.machines,
      machine.metadata.namespace,
      machine.metadata.name ?? '',
      (draft) => {
        draft.metadata.finalizers = draft.metadata.finalizers?.filter((f) => f !== CAPI_MACHINE_FINALIZER);
        if (draft.metadata.finalizers?.length === 0) delete draft.metadata.finalizers;
      },
    );
    if (left && !left.metadata.finalizers?.length)
      store.remove(R.machines, machine.metadata.namespace, machine.metadata.name ?? '');
  }

  /** What Cluster API's machine controller writes on the Node: which Machine (and owner) it belongs to. */
  private annotateNode(machine: KubeObject, node: KubeObject): void {
    if (node.metadata.annotations?.[CAPI_MACHINE_ANNOTATION] === machine.metadata.name) return;
    const owner = controllerRefOf(machine);
    this.ctx.store.mutate(R.nodes, undefined, node.metadata.name ?? '', (draft) => {
      draft.metadata.annotations = {
        ...draft.metadata.annotations,
        [CAPI_MACHINE_ANNOTATION]: machine.metadata.name ?? '',
        'cluster.x-k8s.io/cluster-name': machine.metadata.labels?.[CAPI_CLUSTER_NAME_LABEL] ?? '',
        'cluster.x-k8s.io/cluster-namespace': machine.metadata.namespace ?? '',
        ...(owner
          ? { 'cluster.x-k8s.io/owner-kind': owner.kind, 'cluster.x-k8s.io/owner-name': owner.name }
          : {}),
      };
    });
  }

  private writeStatus(machine: KubeObject, status: { phase: MachinePhase; [field: string]: unknown }): void {
    updateStatusIfChanged(this.ctx.store, R.machines, machine, {
      ...machine.status,
      ...status,
      observedGeneration: machine.metadata.generation,
    });
  }
}

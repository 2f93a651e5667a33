import { type Clock, clockFromTimeScale } from '../core/index.ts';
import type { EtcdClientOptions } from '../etcd/index.ts';
import { createAdminHandler } from './admin/admin-handler.ts';
import { R } from './api/resources.ts';
import { ApiServer } from './api/server.ts';
import type { Actor, SandboxContext } from './context.ts';
import { createSandboxContext } from './create-context.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import { registerClusterStateMetrics } from './metrics/cluster-state-metrics.ts';
import { buildCluster } from './scenario/build-cluster.ts';
import { faultSetFromSpec } from './scenario/faults-spec.ts';
import { loadScenario } from './scenario/load-scenario.ts';
import type { Scenario } from './scenario/scenario-types.ts';
import { AttachDetachController } from './sim/attach-detach.ts';
import { MachineController } from './sim/cluster-api-machines.ts';
import { MachineDeploymentController, MachineSetController } from './sim/cluster-api-sets.ts';
import { ControlPlane } from './sim/control-plane.ts';
import { DaemonSetController } from './sim/controllers/daemonset-controller.ts';
import { DeploymentController } from './sim/controllers/deployment-controller.ts';
import { JobController } from './sim/controllers/job-controller.ts';
import { ReplicaSetController } from './sim/controllers/replicaset-controller.ts';
import { StatefulSetController } from './sim/controllers/statefulset-controller.ts';
import { PdbController } from './sim/disruption/pdb-controller.ts';
import { EtcdDisk } from './sim/etcd-disk.ts';
import { GarbageCollector } from './sim/garbage-collector.ts';
import { KubeletFleet } from './sim/kubelet-fleet.ts';
import { NodeLifecycle } from './sim/node-lifecycle.ts';
import { NodeProvisioner } from './sim/node-provisioner.ts';
import { NodeUpgrader } from './sim/node-upgrade.ts';
import { PodLogBook } from './sim/pod-logs.ts';
import { Scheduler } from './sim/scheduler.ts';
import { TrafficGenerator } from './sim/traffic.ts';
import { EtcdPersistence, type EtcdPersistenceOptions } from './store/etcd-persistence.ts';
import type { KubeObject } from './store/types.ts';

export interface SandboxStartOptions {
  /** A built-in scenario name, a scenario file path, or a parsed scenario. */
  scenario: string | Scenario;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** When set, clients must send it as a bearer token. */
  token?: string;
  tls?: boolean;
  /** Simulated time runs this many times faster than wall time (default 1). Ignored when `clock` is given. */
  timeScale?: number;
  clock?: Clock;
  /**
   * Keep the objects in this etcd (see store/etcd-persistence.ts): an etcd holding a sandbox's /registry
   * keys is loaded as it is (the scenario then gives only timing, faults and node pools); an empty one
   * gets the scenario's cluster.
   */
  etcd?: EtcdClientOptions & Omit<EtcdPersistenceOptions, 'client'>;
}

/** Where the sandbox keeps its objects, as `sandbox start` reports it. */
export interface SandboxStorage {
  /** The etcd client URL, or undefined for memory only. */
  etcd?: string;
  /** With etcd: whether the cluster was loaded from it (true) or built from the scenario and written (false). */
  loaded?: boolean;
  objects: number;
  /** The store's resourceVersion (etcd's revision) once the cluster was loaded or written. */
  revision: number;
}

/**
 * A whole sandbox cluster: the object store and API server, plus the simulated machinery behind them,
 * built from a scenario. `Sandbox.start()` returns once the API server answers; the cluster then settles
 * on its own (pods scheduled, started, Ready) as a freshly booted cluster would.
 */
export class Sandbox {
  private constructor(
    readonly ctx: SandboxContext,
    readonly scenario: Scenario,
    readonly controlPlane: ControlPlane,
    readonly upgrader: NodeUpgrader,
    private readonly actors: Actor[],
    private readonly server: ApiServer,
    readonly url: string,
    private readonly token: string | undefined,
    private readonly caCertPem: string | undefined,
    readonly storage: SandboxStorage,
    private readonly persistence: EtcdPersistence | undefined,
  ) {}

  static async start(options: SandboxStartOptions): Promise<Sandbox> {
    const scenario = typeof options.scenario === 'string' ? loadScenario(options.scenario) : options.scenario;
    const clock = options.clock ?? clockFromTimeScale(options.timeScale);
    const ctx = createSandboxContext({ clock, timing: scenario.timing, seed: scenario.seed });
    ctx.faults = faultSetFromSpec(scenario.faults);

    const kubelets = new KubeletFleet(ctx);
    const persistence = options.etcd ? await openEtcd(options.etcd) : undefined;
    const loaded = persistence ? (await persistence.load(ctx.store)).objects > 0 : false;
    // A cluster loaded from etcd is already there; its control plane is read from its mirror pods.
    const controlPlane = loaded
      ? new ControlPlane(ctx, { fallbackVersion: scenario.kubernetesVersion, rebooter: kubelets })
      : buildCluster(ctx, scenario, { rebooter: kubelets }).controlPlane;
    if (persistence && !loaded) await persistence.seed(ctx.store);
    persistence?.attach(ctx.store);
    const storage: SandboxStorage = {
      etcd: persistence?.endpoint,
      loaded: persistence ? loaded : undefined,
      objects: ctx.store.resources().reduce((n, r) => n + ctx.store.count(r), 0),
      revision: ctx.store.resourceVersion,
    };
    const upgrader = new NodeUpgrader(ctx, {
      rebooter: kubelets,
      controlPlane: controlPlane,
      allowKubeletMinorSkip: scenario.allowKubeletMinorSkip,
    });
    const podLogs = new PodLogBook(ctx);
    const provisioner = new NodeProvisioner(ctx, scenario.nodePools);
    upgrader.registerJobBehaviour(kubelets, podLogs);
    // Note: the kubelets start first so the scheduler and controllers see live nodes from their first pass.
    const actors: Actor[] = [
      podLogs,
      kubelets,
      new NodeLifecycle(ctx, kubelets),
      new Scheduler(ctx, kubelets),
      new DeploymentController(ctx),
      new ReplicaSetController(ctx),
      new StatefulSetController(ctx),
      new DaemonSetController(ctx),
      new JobController(ctx),
      new PdbController(ctx),
      new GarbageCollector(ctx),
      new TrafficGenerator(ctx),
      new EtcdDisk(ctx),
      new AttachDetachController(ctx),
      controlPlane,
      provisioner,
      new MachineDeploymentController(ctx),
      new MachineSetController(ctx),
      new MachineController(ctx, provisioner),
    ];
    registerClusterStateMetrics(ctx);
    for (const actor of actors) actor.start();

    const server = new ApiServer(ctx, {
      host: options.host,
      port: options.port,
      token: options.token,
      tls: options.tls,
      version: () => controlPlane.versionInfo(),
      podLogs,
      adminHandler: createAdminHandler({
        ctx,
        scenarioName: scenario.name,
        upgrader,
        controlPlane: controlPlane,
        provisioner,
        ...(persistence ? { etcdStatus: () => persistence.status() } : {}),
      }),
    });
    try {
      const { url, caCertPem } = await server.listen();
      return new Sandbox(
        ctx,
        scenario,
        controlPlane,
        upgrader,
        actors,
        server,
        url,
        options.token,
        caCertPem,
        storage,
        persistence,
      );
    } catch (err) {
      for (const actor of actors) actor.stop();
      throw err;
    }
  }

  get scenarioName(): string {
    return this.scenario.name;
  }

  get kubernetesVersion(): string {
    return this.controlPlane.versionInfo().gitVersion ?? this.scenario.kubernetesVersion;
  }

  /** A kubeconfig for kubectl and client-node; it contains the token, so store it with care. */
  kubeconfig(contextName?: string): string {
    return renderKubeconfig({ server: this.url, token: this.token, caCertPem: this.caCertPem, contextName });
  }

  firstWorkerName(): string | undefined {
    return this.workers()[0]?.metadata.name;
  }

  /** A worker whose kubelet is older than the control plane: one that can be upgraded right away. */
  workerBehindControlPlane(): string | undefined {
    const cp = this.kubernetesVersion;
    return this.workers().find((n) => n.status?.nodeInfo?.kubeletVersion !== cp)?.metadata.name;
  }

  /**
   * Resolves once every workload pod is Running and Ready and no pod is Pending, or rejects after `timeoutMs`
   * of clock time. A freshly started sandbox needs a few simulated seconds for that.
   */
  async waitUntilSettled(timeoutMs = 120_000): Promise<void> {
    const deadline = this.ctx.clock.now() + timeoutMs;
    for (;;) {
      const unsettled = this.ctx.store.list(R.pods, undefined, (pod) => !isSettled(pod));
      if (unsettled.length === 0) return;
      if (this.ctx.clock.now() >= deadline) {
        const names = unsettled.slice(0, 5).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
        throw new Error(
          `the sandbox did not settle: ${unsettled.length} pods not Ready (${names.join(', ')}…)`,
        );
      }
      await this.ctx.clock.sleep(500);
    }
  }

  /**
   * The Deployments and StatefulSets short of Ready replicas and the DaemonSets short of Ready pods, as
   * "Kind namespace/name". Note: `waitUntilSettled` looks only at the pods that exist; without `prebindPods`
   * the controllers may not have created them all yet (a StatefulSet makes one at a time).
   */
  workloadsNotReady(): string[] {
    const { store } = this.ctx;
    const name = (w: KubeObject) => `${w.kind} ${w.metadata.namespace}/${w.metadata.name}`;
    return [
      ...[...store.list(R.deployments), ...store.list(R.statefulsets)]
        .filter((w) => (w.status?.readyReplicas ?? 0) < (w.spec?.replicas ?? 1))
        .map(name),
      ...store
        .list(R.daemonsets)
        .filter((d) => (d.status?.numberReady ?? 0) < (d.status?.desiredNumberScheduled ?? 1))
        .map(name),
    ];
  }

  /**
   * Calls `listener` when the etcd behind the sandbox fails (see EtcdPersistence): from then on every write
   * is refused with a 500, and the sandbox should be stopped. Never called for an in-memory sandbox.
   */
  onStorageFailure(listener: (err: Error) => void): () => void {
    return this.persistence?.onFailure(listener) ?? (() => {});
  }

  /** Resolves once etcd holds every write made so far (at once without etcd); rejects if etcd failed. */
  async flushStorage(): Promise<void> {
    await this.persistence?.flush();
  }

  /** Stops the actors and the server, then waits for etcd to hold every write; rejects if it cannot. */
  async stop(): Promise<void> {
    for (const actor of [...this.actors].reverse()) actor.stop();
    await this.server.close();
    await this.persistence?.flush();
  }

  private workers(): KubeObject[] {
    return this.ctx.store.list(
      R.nodes,
      undefined,
      (n) => n.metadata.labels?.['node-role.kubernetes.io/control-plane'] === undefined,
    );
  }
}

function isSettled(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded') return true;
  if (phase !== 'Running') return false;
  return (pod.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
  );
}

async function openEtcd(options: NonNullable<SandboxStartOptions['etcd']>): Promise<EtcdPersistence> {
  // Note: loaded only with --etcd, so an in-memory sandbox never loads the etcd client.
  const { EtcdClient } = await import('../etcd/index.ts');
  return new EtcdPersistence({ ...options, client: new EtcdClient(options) });
}

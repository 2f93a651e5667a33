/**
 * The `cluster-api` node provider: a pool's nodes are the Machines of a Cluster API MachineDeployment
 * (cluster.x-k8s.io/v1beta1), driven through the Kubernetes API of the cluster that holds them.
 *
 * Why this design: midflight keeps the drains (its budgets, gates and admission decide when a node goes),
 * so Cluster API must never pick and drain a node on its own. Rolling the pool's MachineDeployment to the
 * new version would do exactly that (its rollout deletes old Machines as it sees fit). Instead, as
 * cluster-autoscaler's clusterapi provider scales node groups, this provider only changes replicas:
 * - new capacity: a second MachineDeployment at the target version, cloned from the pool's one
 *   (`workers` → `workers-v1-31-2`, same cluster, bootstrap, infrastructure and strategy), scaled up by one
 *   per replacement; its Machines' `status.nodeRef` name the new nodes;
 * - removal of a node midflight drained: its Machine is annotated `cluster.x-k8s.io/delete-machine` and its
 *   MachineDeployment's replicas lowered by one, so the MachineSet removes that Machine and no other
 *   (cluster-autoscaler's scale-down, Cluster API's documented way to pick the Machine a scale-down removes).
 * After the upgrade the pool's nodes are all in the new MachineDeployment and the old one is at 0 replicas,
 * kept (its template is the way back); the next upgrade starts from the new one (followed from the old one by
 * the `upgrade.midflight.dev/cloned-from` annotation).
 *
 * Crash safety: a create and a removal are recorded in the MachineDeployment's own annotations in the same
 * patch that changes its replicas (with its resourceVersion), so after a crash the provider knows whether
 * the change went through and never scales twice for one intent.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { CAPI_DELETE_MACHINE_ANNOTATION, CAPI_DEPLOYMENT_NAME_LABEL, RUN_ID_LABEL } from '../core/index.ts';
import { apiFailureOf } from '../kube/index.ts';
import {
  annotationSet,
  annotationSetValue,
  type CapiObject,
  CLONED_FROM_ANNOTATION,
  cloneAtVersion,
  deploymentBase,
  deploymentNameAt,
  REMOVALS_ANNOTATION,
  REQUESTS_ANNOTATION,
  requestKey,
} from './cluster-api-clone.ts';
import { ClusterApiObjects } from './cluster-api-objects.ts';
import type { NewNodeRule } from './new-node-rule.ts';
import type {
  CreatedNodes,
  CreateNodesContext,
  DeleteNodeContext,
  NodeGroupProvider,
} from './node-group-provider.ts';
import { ProviderError } from './upgrade-provider.ts';

export interface ClusterApiNodeProviderOptions {
  kc: KubeConfig;
  joinTimeoutMs: number;
  /** Where the MachineDeployments and Machines are. */
  namespace: string;
  /** The pool's MachineDeployment: a name with `{pool}`, or one name per pool. */
  machineDeployment: string | Readonly<Record<string, string>>;
  /**
   * The infrastructure template the new MachineDeployment's Machines use (`{pool}`, `{version}`,
   * `{machineDeployment}` filled in), when the new version needs another machine image; default the pool's.
   */
  infrastructureTemplate?: string;
}

export const INFRASTRUCTURE_PLACEHOLDERS = ['pool', 'version', 'machineDeployment'] as const;

/** Writes retried on a 409 Conflict (another replacement changed the MachineDeployment first). */
const CONFLICT_RETRIES = 20;

export class ClusterApiNodeProvider implements NodeGroupProvider {
  readonly kind = 'cluster-api';
  /** Unused: new nodes are recognised by their Machines' nodeRefs (createdNodes). */
  readonly newNodes: NewNodeRule = {};
  readonly joinTimeoutMs: number;
  private readonly objects: ClusterApiObjects;
  /** The last change to a MachineDeployment asked for: the next waits for it (see retryOnConflict). */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ClusterApiNodeProviderOptions) {
    this.joinTimeoutMs = options.joinTimeoutMs;
    this.objects = new ClusterApiObjects(options.kc, options.namespace);
  }

  async checkPool(pool: string): Promise<void> {
    await this.sourceOf(pool);
  }

  async createNodes(ctx: CreateNodesContext): Promise<string[]> {
    const key = requestKey(ctx.labels);
    const runKey = `${RUN_ID_LABEL}=${ctx.runId}`;
    await this.retryOnConflict(`scaling up pool ${ctx.pool}'s MachineDeployment`, ctx.pool, async () => {
      const target = (await this.targetOf(ctx.pool, ctx.version, ctx))!;
      const requests = annotationSet(target, REQUESTS_ANNOTATION);
      if (requests.has(key)) {
        ctx.log(`${this.objects.ref(target)} already counts this create`);
        return;
      }
      // Note: the requests of earlier runs are done or withdrawn; only this run's are kept.
      const kept = [...requests].filter((k) => k.split(',').includes(runKey));
      const replicas = (target.spec?.replicas ?? 0) + ctx.count;
      await this.objects.patchDeployment(target, replicas, {
        [REQUESTS_ANNOTATION]: annotationSetValue([...kept, key]),
      });
      ctx.log(`scaled ${this.objects.ref(target)} to ${replicas} replica(s) at ${ctx.version}`);
    });
    return [];
  }

  async createdNodes(pool: string, version: string): Promise<CreatedNodes> {
    const target = await this.targetOf(pool, version);
    if (!target) return { nodes: [] };
    const machines = (await this.objects.machinesOf(target.metadata.name)).filter(
      (m) => !m.metadata.deletionTimestamp,
    );
    const failed = machines.find((m) => m.status?.phase === 'Failed' || m.status?.failureMessage);
    return {
      nodes: machines.flatMap((m) => (m.status?.nodeRef?.name ? [m.status.nodeRef.name as string] : [])),
      ...(failed
        ? {
            failed: `Machine ${this.objects.namespace}/${failed.metadata.name} of ${this.objects.ref(target)} failed: ${failed.status?.failureReason ?? 'Failed'}: ${failed.status?.failureMessage ?? 'no message'}`,
          }
        : {}),
    };
  }

  async findCreated(pool: string, labels: Record<string, string>): Promise<string[] | undefined> {
    // Note: a create the MachineDeployment counts has a Machine, but which node it gives is only known once
    // it registers (createdNodes): undefined says "made, wait for it"; [] says "not made, ask again".
    for (const d of await this.objects.listDeployments()) {
      if (annotationSet(d, REQUESTS_ANNOTATION).has(requestKey(labels)) && this.belongsTo(d, pool))
        return undefined;
    }
    return [];
  }

  async withdrawCreate(ctx: CreateNodesContext): Promise<void> {
    const key = requestKey(ctx.labels);
    await this.retryOnConflict(`withdrawing a create in pool ${ctx.pool}`, ctx.pool, async () => {
      const target = await this.targetOf(ctx.pool, ctx.version);
      if (!target) return;
      const requests = annotationSet(target, REQUESTS_ANNOTATION);
      if (!requests.has(key)) return;
      requests.delete(key);
      // The Machine the create gave and that did not serve: a failed one first, else the oldest unregistered.
      const machines = (await this.objects.machinesOf(target.metadata.name)).filter(
        (m) => !m.metadata.deletionTimestamp,
      );
      const failed = (m: CapiObject) => (m.status?.phase === 'Failed' ? 0 : 1);
      const unserving = machines
        .filter((m) => m.status?.phase === 'Failed' || !m.status?.nodeRef)
        .sort(
          (a, b) =>
            failed(a) - failed(b) ||
            (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
        );
      const doomed = unserving[0];
      const annotations: Record<string, string> = { [REQUESTS_ANNOTATION]: annotationSetValue(requests) };
      if (doomed) {
        await this.objects.markForDeletion(doomed, ctx.runId);
        const removals = annotationSet(target, REMOVALS_ANNOTATION);
        removals.add(doomed.metadata.name);
        annotations[REMOVALS_ANNOTATION] = annotationSetValue(removals);
      }
      const replicas = doomed ? await this.oneFewer(target, ctx.pool) : (target.spec?.replicas ?? 0);
      await this.objects.patchDeployment(target, replicas, annotations);
      ctx.log(
        doomed
          ? `withdrew a create: ${doomed.metadata.name} removed, ${this.objects.ref(target)} at ${replicas} replica(s)`
          : `withdrew a create of ${this.objects.ref(target)}: no Machine of it was left to remove`,
      );
    });
  }

  async deleteNode(ctx: DeleteNodeContext): Promise<void> {
    const machines = await this.objects.machinesOf();
    const machine = machines.find((m) => m.status?.nodeRef?.name === ctx.node);
    if (!machine) {
      if (!(await this.objects.nodeExists(ctx.node))) return;
      throw new ProviderError(
        `node ${ctx.node} is not the nodeRef of any Machine in namespace ${this.objects.namespace}: the cluster-api node provider removes only nodes of Machines (check nodeProvider.namespace)`,
        ctx.node,
        [],
        false,
      );
    }
    if (machine.metadata.deletionTimestamp) return;
    const owner = machine.metadata.labels?.[CAPI_DEPLOYMENT_NAME_LABEL];
    if (!owner)
      throw new ProviderError(
        `Machine ${this.objects.namespace}/${machine.metadata.name} (node ${ctx.node}) belongs to no MachineDeployment: delete it yourself`,
        ctx.node,
        [],
        false,
      );
    await this.objects.markForDeletion(machine, ctx.runId);
    await this.retryOnConflict(`removing node ${ctx.node}`, ctx.node, async () => {
      const md = await this.objects.getDeployment(owner);
      if (!md)
        throw new ProviderError(
          `MachineDeployment ${this.objects.namespace}/${owner} is gone`,
          ctx.node,
          [],
          false,
        );
      const removals = annotationSet(md, REMOVALS_ANNOTATION);
      if (removals.has(machine.metadata.name)) return;
      const present = new Set(machines.map((m) => m.metadata.name));
      const kept = [...removals].filter((name) => present.has(name));
      const replicas = await this.oneFewer(md, ctx.node);
      await this.objects.patchDeployment(md, replicas, {
        [REMOVALS_ANNOTATION]: annotationSetValue([...kept, machine.metadata.name]),
      });
      ctx.log(
        `annotated ${machine.metadata.name} ${CAPI_DELETE_MACHINE_ANNOTATION} and scaled ${this.objects.ref(md)} to ${replicas}`,
      );
    });
  }

  /**
   * `md`'s replicas less one, once it is sure the Machines its MachineSets will then remove are all marked
   * `cluster.x-k8s.io/delete-machine`. IMPORTANT: fails closed: if another client lowered the replicas too,
   * a Machine nobody drained would go.
   */
  private async oneFewer(md: CapiObject, subject: string): Promise<number> {
    const replicas: unknown = md.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1)
      throw new ProviderError(
        `${this.objects.ref(md)} has spec.replicas ${JSON.stringify(replicas)}: there is no replica to take off`,
        subject,
        [],
        false,
      );
    const live = (await this.objects.machinesOf(md.metadata.name)).filter(
      (m) => !m.metadata.deletionTimestamp,
    );
    const marked = live.filter((m) => m.metadata.annotations?.[CAPI_DELETE_MACHINE_ANNOTATION] !== undefined);
    const removed = live.length - (replicas - 1);
    if (removed > marked.length)
      throw new ProviderError(
        `refusing to scale ${this.objects.ref(md)} to ${replicas - 1}: its MachineSets would remove ${removed} Machine(s) and only ${marked.length} are marked ${CAPI_DELETE_MACHINE_ANNOTATION} (did another client change its replicas?)`,
        subject,
        [],
        false,
      );
    return replicas - 1;
  }

  /** The pool's MachineDeployment: the one the policy names, or the one an earlier upgrade moved its nodes to. */
  private async sourceOf(pool: string): Promise<CapiObject> {
    const name = this.deploymentNameOf(pool);
    const named = await this.objects.getDeployment(name);
    if (!named)
      throw new ProviderError(
        `MachineDeployment ${this.objects.namespace}/${name} of pool ${pool} was not found: name the pool's MachineDeployment in nodeProvider.machineDeployment (and its namespace in nodeProvider.namespace)`,
        pool,
        [],
        false,
      );
    let md: CapiObject = named;
    for (let hops = 0; hops < 20 && (md.spec?.replicas ?? 0) === 0; hops++) {
      const from: string = md.metadata.name;
      const next: CapiObject | undefined = (await this.objects.listDeployments()).find(
        (d) => d.metadata.annotations?.[CLONED_FROM_ANNOTATION] === from && (d.spec?.replicas ?? 0) > 0,
      );
      if (!next) break;
      md = next;
    }
    return md;
  }

  /**
   * The pool's MachineDeployment at `version`: the pool's own when it is there already, else its clone at
   * that version, created when `creating` is given (and found when another replacement created it first).
   * Note: when the pool's own is at the version, the nodes it already has count as new to createdNodes; the
   * engine replaces none of them (they are at the target), but it may take one as a replacement.
   */
  private async targetOf(
    pool: string,
    version: string,
    creating?: CreateNodesContext,
  ): Promise<CapiObject | undefined> {
    const source = await this.sourceOf(pool);
    if (source.spec?.template?.spec?.version === version) return source;
    const name = deploymentNameAt(source.metadata.name, version);
    const existing = await this.objects.getDeployment(name);
    if (existing) {
      const at = existing.spec?.template?.spec?.version;
      if (at !== version)
        throw new ProviderError(
          `MachineDeployment ${this.objects.namespace}/${name} exists at ${at}, not ${version}: the cluster-api node provider needs that name for pool ${pool}'s nodes at ${version}`,
          pool,
          [],
          false,
        );
      return existing;
    }
    if (!creating) return undefined;
    const infra = this.options.infrastructureTemplate
      ? this.options.infrastructureTemplate
          .replaceAll('{pool}', pool)
          .replaceAll('{version}', version)
          .replaceAll('{machineDeployment}', source.metadata.name)
      : undefined;
    const clone = cloneAtVersion(source, name, version, infra);
    const made = await this.objects.createDeployment(clone, pool);
    creating.log(`${this.objects.ref(made)} at ${version}, cloned from ${source.metadata.name}`);
    return made;
  }

  private deploymentNameOf(pool: string): string {
    const setting = this.options.machineDeployment;
    if (typeof setting === 'string') return setting.replaceAll('{pool}', pool);
    const name = setting[pool];
    if (name === undefined)
      throw new ProviderError(
        `pool ${pool} is not in nodeProvider.machineDeployment (it names ${Object.keys(setting).join(', ') || 'no pool'}): add the MachineDeployment of pool ${pool}`,
        pool,
        [],
        false,
      );
    return name;
  }

  /** Whether `md` holds `pool`'s nodes: the pool's own MachineDeployment or one cloned from it. */
  private belongsTo(md: CapiObject, pool: string): boolean {
    const name = this.deploymentNameOf(pool);
    return deploymentBase(md.metadata.name) === deploymentBase(name);
  }

  /**
   * Runs `attempt` (read, then one patch on what it read) again on a 409 Conflict. Note: this provider's own
   * changes go one at a time (a blue-green pool asks for all its nodes at once): only other writers (Cluster
   * API's status updates) can make a patch conflict, not the other replacements.
   */
  private retryOnConflict(what: string, subject: string, attempt: () => Promise<void>): Promise<void> {
    const turn = this.writes.then(() => this.retryEach(what, subject, attempt));
    this.writes = turn.catch(() => {});
    return turn;
  }

  private async retryEach(what: string, subject: string, attempt: () => Promise<void>): Promise<void> {
    for (let i = 0; i < CONFLICT_RETRIES; i++) {
      try {
        await attempt();
        return;
      } catch (err) {
        if (err instanceof ProviderError) throw err;
        if (apiFailureOf(err).code !== 409) throw this.objects.failure(err, what, subject);
      }
    }
    throw new ProviderError(
      `${what}: the MachineDeployment kept changing under ${CONFLICT_RETRIES} attempts`,
      subject,
    );
  }
}

/**
 * The cluster-api node provider's reads and writes of Cluster API objects (and Nodes) in one namespace,
 * through client-node's CustomObjectsApi: each failure becomes a ProviderError saying what was being done.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import {
  CAPI_DELETE_MACHINE_ANNOTATION,
  CAPI_DEPLOYMENT_NAME_LABEL,
  CAPI_GROUP,
  CAPI_VERSION,
} from '../core/index.ts';
import { apiFailureOf, classifyFailure } from '../kube/index.ts';
import type { CapiObject } from './cluster-api-clone.ts';
import { ProviderError } from './upgrade-provider.ts';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class ClusterApiObjects {
  private clients?: { custom: CustomObjectsApi; core: CoreV1Api };

  constructor(
    private readonly kc: KubeConfig,
    readonly namespace: string,
  ) {}

  async getDeployment(name: string): Promise<CapiObject | undefined> {
    try {
      return (await this.api().getNamespacedCustomObject({
        ...this.group('machinedeployments'),
        name,
      })) as CapiObject;
    } catch (err) {
      if (apiFailureOf(err).code === 404) return undefined;
      throw this.failure(err, `reading MachineDeployment ${this.namespace}/${name}`, name);
    }
  }

  async listDeployments(): Promise<CapiObject[]> {
    try {
      const list = (await this.api().listNamespacedCustomObject(this.group('machinedeployments'))) as {
        items: CapiObject[];
      };
      return list.items;
    } catch (err) {
      throw this.failure(err, `listing MachineDeployments in ${this.namespace}`, this.namespace);
    }
  }

  /** Creates `md`; when another client (or replacement) created it first, that one. */
  async createDeployment(md: CapiObject, subject: string): Promise<CapiObject> {
    try {
      return (await this.api().createNamespacedCustomObject({
        ...this.group('machinedeployments'),
        body: md,
      })) as CapiObject;
    } catch (err) {
      const existing =
        apiFailureOf(err).code === 409 ? await this.getDeployment(md.metadata.name) : undefined;
      if (existing) return existing;
      throw this.failure(err, `creating MachineDeployment ${this.namespace}/${md.metadata.name}`, subject);
    }
  }

  /**
   * One merge patch of replicas and annotations, on the resourceVersion `md` was read at: a 409 Conflict
   * (thrown as client-node's error) means it changed since, and the caller reads it again.
   */
  async patchDeployment(
    md: CapiObject,
    replicas: number,
    annotations: Record<string, string>,
  ): Promise<void> {
    await this.api().patchNamespacedCustomObject(
      {
        ...this.group('machinedeployments'),
        name: md.metadata.name,
        body: { metadata: { resourceVersion: md.metadata.resourceVersion, annotations }, spec: { replicas } },
      },
      MERGE,
    );
  }

  /** The Machines of one MachineDeployment, or all of the namespace's. */
  async machinesOf(deployment?: string): Promise<CapiObject[]> {
    try {
      const list = (await this.api().listNamespacedCustomObject({
        ...this.group('machines'),
        ...(deployment ? { labelSelector: `${CAPI_DEPLOYMENT_NAME_LABEL}=${deployment}` } : {}),
      })) as { items: CapiObject[] };
      return list.items;
    } catch (err) {
      throw this.failure(err, `listing Machines in ${this.namespace}`, deployment ?? this.namespace);
    }
  }

  /** Marks `machine` as the one its MachineSet removes first (`cluster.x-k8s.io/delete-machine`). */
  async markForDeletion(machine: CapiObject, runId: string): Promise<void> {
    if (machine.metadata.annotations?.[CAPI_DELETE_MACHINE_ANNOTATION] !== undefined) return;
    try {
      await this.api().patchNamespacedCustomObject(
        {
          ...this.group('machines'),
          name: machine.metadata.name,
          body: { metadata: { annotations: { [CAPI_DELETE_MACHINE_ANNOTATION]: `midflight ${runId}` } } },
        },
        MERGE,
      );
    } catch (err) {
      const name = machine.metadata.name;
      throw this.failure(err, `annotating Machine ${this.namespace}/${name}`, name);
    }
  }

  async nodeExists(name: string): Promise<boolean> {
    try {
      await this.clientsOnce().core.readNode({ name });
      return true;
    } catch (err) {
      if (apiFailureOf(err).code === 404) return false;
      throw this.failure(err, `reading node ${name}`, name);
    }
  }

  ref(md: CapiObject): string {
    return `MachineDeployment ${this.namespace}/${md.metadata.name}`;
  }

  failure(err: unknown, what: string, subject: string): ProviderError {
    const f = apiFailureOf(err);
    const hint = f.code === 404 ? ' (are the Cluster API CRDs installed in this cluster?)' : '';
    return new ProviderError(
      `${what} failed: ${f.code ? `HTTP ${f.code}: ` : ''}${f.message}${hint}`,
      subject,
      [],
      classifyFailure(err) === 'transient',
    );
  }

  private group(plural: string) {
    return { group: CAPI_GROUP, version: CAPI_VERSION, namespace: this.namespace, plural };
  }

  private api(): CustomObjectsApi {
    return this.clientsOnce().custom;
  }

  // Note: made at first use, not in the constructor: a policy is checked with an empty kubeconfig, on which
  // client-node refuses to make a client.
  private clientsOnce(): { custom: CustomObjectsApi; core: CoreV1Api } {
    this.clients ??= {
      custom: this.kc.makeApiClient(CustomObjectsApi),
      core: this.kc.makeApiClient(CoreV1Api),
    };
    return this.clients;
  }
}

/**
 * A scenario pool managed by Cluster API (`machineDeployment:` on the pool): its MachineDeployment at the
 * pool's size and version, the MachineSet of its template and one Running Machine per existing node (with
 * `providerID` and `nodeRef`), as a cluster that `clusterctl` made would have them. From then on the
 * simulated controllers (cluster-api-sets.ts, cluster-api-machines.ts) keep them.
 */
import { CAPI_API_VERSION, CAPI_CLUSTER_NAME_LABEL, CAPI_DEPLOYMENT_NAME_LABEL } from '../../core/index.ts';
import { R } from '../api/resources.ts';
import type { SandboxContext } from '../context.ts';
import type { NodePoolSpec } from '../scenario/scenario-types.ts';
import { nodeOfMachine, providerIdOf } from './cluster-api-machines.ts';
import { machineFor, machineSetFor } from './cluster-api-sets.ts';

/** The infrastructure template kind a sandbox Machine names its pool with (`infrastructureRef.name`). */
export const SANDBOX_MACHINE_TEMPLATE = {
  apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
  kind: 'SandboxMachineTemplate',
} as const;

export function seedMachineDeployment(
  ctx: SandboxContext,
  pool: NodePoolSpec,
  nodes: readonly string[],
  clusterName: string,
): void {
  const ref = pool.machineDeployment;
  if (!ref) return;
  const { store } = ctx;
  const labels = { [CAPI_CLUSTER_NAME_LABEL]: clusterName, [CAPI_DEPLOYMENT_NAME_LABEL]: ref.name };
  const md = store.create(R.machinedeployments, {
    apiVersion: CAPI_API_VERSION,
    kind: 'MachineDeployment',
    metadata: {
      name: ref.name,
      namespace: ref.namespace,
      labels: { [CAPI_CLUSTER_NAME_LABEL]: clusterName },
    },
    spec: {
      clusterName,
      replicas: nodes.length,
      selector: { matchLabels: labels },
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0, deletePolicy: 'Random' },
      },
      template: {
        metadata: { labels },
        spec: {
          clusterName,
          version: pool.version,
          bootstrap: { dataSecretName: `${ref.name}-bootstrap` },
          infrastructureRef: { ...SANDBOX_MACHINE_TEMPLATE, name: pool.name, namespace: ref.namespace },
        },
      },
    },
  });
  const ms = store.create(R.machinesets, machineSetFor(md, nodes.length));
  for (const node of nodes) {
    const machine = machineFor(ms);
    machine.spec.providerID = providerIdOf(node);
    const created = store.create(R.machines, machine);
    const uid = store.get(R.nodes, undefined, nodeOfMachine(created) ?? '')?.metadata.uid;
    store.mutate(R.machines, created.metadata.namespace, created.metadata.name ?? '', (draft) => {
      draft.status = {
        phase: 'Running',
        bootstrapReady: true,
        infrastructureReady: true,
        nodeRef: { apiVersion: 'v1', kind: 'Node', name: node, uid },
        conditions: [{ type: 'NodeHealthy', status: 'True' }],
      };
    });
  }
}

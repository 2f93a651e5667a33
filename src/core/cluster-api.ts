/**
 * Cluster API's names (cluster.x-k8s.io/v1beta1), in one place for the sandbox's simulated controller and
 * the `cluster-api` node provider: what its controllers stamp on what they create, and the annotation that
 * picks the Machine a scale-down removes.
 */
export const CAPI_GROUP = 'cluster.x-k8s.io';
export const CAPI_VERSION = 'v1beta1';
export const CAPI_API_VERSION = `${CAPI_GROUP}/${CAPI_VERSION}`;

/** On MachineDeployments, MachineSets, Machines (and their Nodes, as an annotation): the Cluster's name. */
export const CAPI_CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
/** On the MachineSets and Machines of a MachineDeployment: its name. */
export const CAPI_DEPLOYMENT_NAME_LABEL = 'cluster.x-k8s.io/deployment-name';
/** On the Machines of a MachineSet: its name. */
export const CAPI_SET_NAME_LABEL = 'cluster.x-k8s.io/set-name';
/** On a MachineSet and its Machines: the hash of the MachineDeployment template they were made from. */
export const CAPI_TEMPLATE_HASH_LABEL = 'machine-template-hash';
/**
 * On a Machine: the one a MachineSet removes first when its replicas go down, whatever its deletePolicy
 * (what cluster-autoscaler's clusterapi provider sets before it lowers replicas).
 */
export const CAPI_DELETE_MACHINE_ANNOTATION = 'cluster.x-k8s.io/delete-machine';
/** On a Node: the Machine it belongs to (set by Cluster API's machine controller). */
export const CAPI_MACHINE_ANNOTATION = 'cluster.x-k8s.io/machine';
/** The finalizer that keeps a Machine until its node and infrastructure are gone. */
export const CAPI_MACHINE_FINALIZER = 'machine.cluster.x-k8s.io';

/** Machine.status.phase values. */
export type MachinePhase =
  | 'Pending'
  | 'Provisioning'
  | 'Provisioned'
  | 'Running'
  | 'Deleting'
  | 'Deleted'
  | 'Failed'
  | 'Unknown';

export type { NodeState } from './cluster-access.ts';
export { ClusterAccess, nodeStateOf } from './cluster-access.ts';

/**
 * Kube: everything that talks to a Kubernetes API server through client-node. Other folders import kube
 * through this file only.
 */
export type { ApiFailure } from './api-failure.ts';
export { apiFailureOf, classifyFailure, isNotFound } from './api-failure.ts';
export { BudgetWatch } from './budget-watch.ts';
export { BudgetsByLabel, budgetKey } from './budgets-by-label.ts';
export type { ClusterTarget, RawResponse } from './client.ts';
export { KubeconfigError, loadKubeConfig, requestRaw } from './client.ts';
export type { NodeState } from './cluster-access.ts';
export { ClusterAccess } from './cluster-access.ts';
export { cordonNode, uncordonNode } from './cordon.ts';
export type { DrainBlockerKind, DrainOptions, DrainProgress, DrainResult, LabelledPod } from './drain.ts';
export { budgetSelects, drainNode } from './drain.ts';
export { KubeError } from './errors.ts';
export {
  clientUrlsOf,
  etcdProblemAfter,
  etcdProblemBefore,
  KUBEADM_ETCD_CLIENT_URLS,
  readEtcdClientUrls,
  readEtcdMembers,
} from './etcd-health.ts';
export type { EventSpec } from './events.ts';
export { recordEvent } from './events.ts';
export { readLeaseHolder } from './lease-holder.ts';
export {
  acquireLease,
  DEFAULT_LEASE_NAME,
  DEFAULT_LEASE_NAMESPACE,
  LeaseHeldError,
  leaseHolderIdentity,
  parseHolderIdentity,
  RUN_ID_ANNOTATION,
} from './lease-lock.ts';
export type { NodeTaints, TaintMatch } from './node-taints.ts';
export { addNodeTaint, listNodeTaints, removeNodeTaint } from './node-taints.ts';
export { NodeWaitTimeoutError, waitForControlPlaneMember, waitForNode } from './node-wait.ts';
export type { NodeWatch } from './node-watch.ts';
export { watchNodes } from './node-watch.ts';
export { withRetries } from './retry.ts';
export { shareConnections } from './shared-connections.ts';
export type { ReadSnapshotOptions, SnapshotProgress } from './snapshot.ts';
export { readSnapshot } from './snapshot.ts';

/**
 * The cluster's series the dashboards and rules read besides Midflight's own, under the names the real
 * components export them (and the sandbox does too): the API server, etcd, the kubelet/controller
 * manager's volume operations, kube-state-metrics. One place, so a query never spells a name another way.
 *
 * The services' request series are what an instrumented HTTP service exports (`http_requests_total` with
 * `code`, `http_request_duration_seconds`), with the `namespace` and `service` they are about: the
 * sandbox's synthetic traffic exports them so; a real cluster's services may name or label theirs
 * otherwise, and these two names are what to change.
 */
export const SERIES = {
  apiRequests: 'apiserver_request_total',
  apiLatency: 'apiserver_request_duration_seconds_bucket',
  etcdCommit: 'etcd_disk_backend_commit_duration_seconds_bucket',
  etcdHasLeader: 'etcd_server_has_leader',
  storageOps: 'storage_operation_duration_seconds_count',
  storageOpsLatency: 'storage_operation_duration_seconds_bucket',
  nodeCondition: 'kube_node_status_condition',
  podReady: 'kube_pod_status_ready',
  containerRestarts: 'kube_pod_container_status_restarts_total',
  serviceRequests: 'http_requests_total',
  serviceLatency: 'http_request_duration_seconds_bucket',
} as const;

/** Pods of the usual CNI plugins and kube-proxy (kube-system), whose readiness says the pod network works. */
export const CNI_PODS = '(calico|cilium|flannel|kube-flannel|weave|antrea|kube-router|kube-proxy|aws-node).*';

/** The nodes whose Ready condition is not True: kube-state-metrics gives 0 for `status="true"`. */
export const NOT_READY_NODES = `${SERIES.nodeCondition}{condition="Ready",status="true"} == 0`;

/** A service's share of 5xx answers over `window`, by namespace and service, for services matching `services`. */
export function serviceErrorRatio(window: string, services: string, offset = ''): string {
  const at = offset ? ` offset ${offset}` : '';
  const sel = (extra: string) => `${SERIES.serviceRequests}{service=~"${services}"${extra}}[${window}]${at}`;
  return (
    `sum by (namespace, service) (rate(${sel(',code=~"5.."')}))\n` +
    `  / sum by (namespace, service) (rate(${sel('')}))`
  );
}

/**
 * The label Midflight puts, with its run id as value, on the disruptions it causes: the `metadata.labels`
 * of each policy/v1 Eviction it sends (kube/drain.ts; plain deletes, with evictions disabled, carry none). A real API server accepts and drops an Eviction's labels, but an audit log keeps them; the
 * sandbox counts every eviction and client deletion of a pod under the label's value
 * (`sandbox_pod_disruptions_total{run_id}`), so the unplanned-disruption gate (M3) can leave the run's own
 * out. The same key as the run-id annotation the engine stamps on the nodes it touches.
 */
export const RUN_ID_LABEL = 'upgrade.midflight.dev/run-id';

/**
 * On a node a surge run created (with RUN_ID_LABEL): the old node it replaces. How a resumed run adopts the
 * nodes it created instead of creating more, and how it knows which nodes are its own to delete.
 */
export const REPLACES_LABEL = 'upgrade.midflight.dev/replaces';

/**
 * The PreferNoSchedule taint, with its run id as value, on the worker nodes a run has still to drain, so that
 * evicted pods prefer the nodes it already upgraded (engine/pending-upgrade-taint.ts; the plan's runbook
 * names it).
 */
export const PENDING_UPGRADE_TAINT_KEY = 'upgrade.midflight.dev/upgrade-pending';

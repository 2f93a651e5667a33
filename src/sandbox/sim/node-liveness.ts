/**
 * Whether each node's kubelet is running, as the node lifecycle controller and the scheduler need to know.
 *
 * Why not Leases: a real kubelet renews its Lease in kube-node-lease every 10 s and the controller reads
 * them. With 5,000 nodes and time scaled ×100 that is 50,000 store writes a wall second of pure noise, so
 * the kubelet fleet keeps liveness in memory and tells its listeners when a kubelet stops or starts. The
 * observable outcome (conditions turning Unknown after the grace period, unreachable taints) is the same.
 */
export interface KubeletLiveness {
  isKubeletAlive(nodeName: string): boolean;
  /** Clock time the node's kubelet stopped, or undefined while it runs (or the node is unknown). */
  kubeletDownSince(nodeName: string): number | undefined;
  /** Called when a kubelet stops (alive false) or starts (alive true). Returns an unsubscribe function. */
  onLivenessChange(listener: (nodeName: string, alive: boolean) => void): () => void;
}

/**
 * Whether each node's kubelet is running, as the node lifecycle controller and the scheduler need to know.
 *
 * Why not from Leases: the kubelets do keep their Leases in kube-node-lease (node-leases.ts), for the tools
 * that read them, but a controller reading them back would add work to every renewal for the same outcome
 * (conditions turning Unknown after the grace period, unreachable taints): the kubelet fleet tells its
 * listeners when a kubelet stops or starts instead.
 */
export interface KubeletLiveness {
  isKubeletAlive(nodeName: string): boolean;
  /** Clock time the node's kubelet stopped, or undefined while it runs (or the node is unknown). */
  kubeletDownSince(nodeName: string): number | undefined;
  /** Called when a kubelet stops (alive false) or starts (alive true). Returns an unsubscribe function. */
  onLivenessChange(listener: (nodeName: string, alive: boolean) => void): () => void;
}

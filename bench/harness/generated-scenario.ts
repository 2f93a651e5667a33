/** The version the generated clusters' control plane is already at, and their workers are upgraded to. */
export const GENERATED_TARGET = 'v1.31.2';

/**
 * A generated cluster of `workers` nodes with the same shape at every size: one control-plane member already
 * at GENERATED_TARGET, so the plan is node-only; one pool of workers at v1.30.6 with pods already bound and
 * spread round-robin, per 100 nodes: 5 × web (20 replicas, budget maxUnavailable 10%: 2), 10 × api
 * (5 replicas, minAvailable 80%: 1), 1 × cache (StatefulSet ×3, maxUnavailable 1), 1 × batch (100 replicas,
 * no budget); a DaemonSet beside the built-in ones. Pods exit 5 s after SIGTERM, a node reboots in 60 s.
 */
export function generatedScenarioYaml(workers: number): string {
  // One copy of a workload per `nodes` workers, so every size has the same pods per node and budget shapes.
  const copies = (nodes: number) => Math.max(1, Math.round(workers / nodes));
  return `
name: bench-${workers}
kubernetesVersion: ${GENERATED_TARGET}
seed: 4
prebindPods: true
controlPlane: { nodes: 1 }
nodePools:
  - { name: workers, count: ${workers}, version: v1.30.6, capacity: { cpu: "4", memory: 16Gi, pods: "110" } }
workloads:
  - { name: web, namespace: shop, kind: Deployment, copies: ${copies(20)}, replicas: 20, pdb: { maxUnavailable: "10%" } }
  - { name: api, namespace: shop, kind: Deployment, copies: ${copies(10)}, replicas: 5, pdb: { minAvailable: "80%" } }
  - { name: cache, namespace: data, kind: StatefulSet, copies: ${copies(100)}, replicas: 3, pdb: { maxUnavailable: 1 } }
  - { name: batch, namespace: jobs, kind: Deployment, copies: ${copies(100)}, replicas: 100 }
  - { name: node-exporter, namespace: monitoring, kind: DaemonSet, tolerations: [{ operator: Exists }] }
timing:
  podStopSeconds: 5
  nodeUpgradeSeconds: 60
`;
}

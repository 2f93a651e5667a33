import type { KubeConfig, V1Node } from '@kubernetes/client-node';
import type { Clock } from '../core/index.ts';
import { listNodesJson } from './node-requests.ts';
import { WatchedObjects } from './watched-objects.ts';

/** Every node of the cluster, watched: what a run reads instead of polling nodes (node-wait.ts, cordon.ts). */
export type NodeWatch = WatchedObjects<V1Node>;

/**
 * Starts one list and watch of every node. Note: cheap on any cluster, since a kubelet writes its node only
 * when something changes or every nodeStatusReportFrequency (5 min); its 10 s heartbeat is a Lease.
 */
export function watchNodes(kc: KubeConfig, clock: Clock): NodeWatch {
  // Note: listed as JSON (node-requests.ts), like the watch's events: one shape in the cache, no typed decoding.
  return WatchedObjects.start(kc, clock, { path: '/api/v1/nodes', list: () => listNodesJson(kc) });
}

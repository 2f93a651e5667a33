/**
 * Reads and patches of Node objects as the API server's JSON (requestJson), for the engine's hot paths: a
 * run reads and patches each node several times (cordon, taints, annotations, the wait for it to rejoin), and
 * client-node's typed decoding of a Node cost more CPU than the rest of the request.
 *
 * Note: typed as client-node's V1Node, which they match but for timestamps (RFC 3339 text, not Dates), as the
 * node watch's events already are; no reader of a node here uses a timestamp.
 */
import type { KubeConfig, PatchStrategy, V1Node } from '@kubernetes/client-node';
import { requestJson, requestText } from './client.ts';

/** A list of nodes, with the resourceVersion it was read at (a watch starts there). */
export interface NodeList {
  items: V1Node[];
  metadata: { resourceVersion?: string };
}

const nodePath = (name: string) => `/api/v1/nodes/${encodeURIComponent(name)}`;

export function getNodeJson(kc: KubeConfig, name: string): Promise<V1Node> {
  return requestJson<V1Node>(kc, 'GET', nodePath(name));
}

/** Every node, in one request (as client-node's listNode). */
export async function listNodesJson(kc: KubeConfig): Promise<NodeList> {
  const list = await requestJson<Partial<NodeList>>(kc, 'GET', '/api/v1/nodes');
  return { items: list.items ?? [], metadata: list.metadata ?? {} };
}

/**
 * A merge patch (`application/merge-patch+json`) or a strategic merge patch of the node. Note: the node it
 * answers is not parsed: no caller reads it (the node watch brings the change), and a node is kilobytes of JSON.
 */
export async function patchNodeJson(
  kc: KubeConfig,
  name: string,
  body: object,
  strategy: Extract<PatchStrategy, `application/${'merge' | 'strategic-merge'}-patch+json`>,
): Promise<void> {
  await requestText(kc, 'PATCH', nodePath(name), { body, contentType: strategy });
}

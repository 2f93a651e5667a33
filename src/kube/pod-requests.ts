/**
 * A drain's writes and reads of single pods as plain HTTP (requestText, requestJson): its evictions, the
 * deletions that replace them when eviction is disabled, and the read of a pod after a refusal.
 *
 * Note: a drain sends one eviction per pod and more after each refusal, the engine's most frequent write;
 * through client-node's generated client each one was serialised against the model's attribute map and its
 * answer (a Status) decoded the same way, for an answer nobody reads. A failure throws an ApiAnswerError,
 * which apiFailureOf reads as it read client-node's ApiException (status, Status body, Retry-After).
 */
import type { KubeConfig, V1DeleteOptions, V1Pod } from '@kubernetes/client-node';
import { requestJson, requestText } from './client.ts';

const podPath = (namespace: string, name: string) =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;

/** POSTs an Eviction of the pod; resolves once the API accepted it (the pod is terminating). */
export async function evictPodJson(
  kc: KubeConfig,
  pod: { namespace: string; name: string },
  deleteOptions: V1DeleteOptions,
  labels?: Record<string, string>,
): Promise<void> {
  const body = {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: pod.name, namespace: pod.namespace, ...(labels ? { labels } : {}) },
    deleteOptions,
  };
  await requestText(kc, 'POST', `${podPath(pod.namespace, pod.name)}/eviction`, { body });
}

/** DELETEs the pod with `deleteOptions` as the body (grace period, preconditions). */
export async function deletePodJson(
  kc: KubeConfig,
  pod: { namespace: string; name: string },
  deleteOptions: V1DeleteOptions,
): Promise<void> {
  await requestText(kc, 'DELETE', podPath(pod.namespace, pod.name), { body: deleteOptions });
}

/** The pod as the API server's JSON (timestamps as RFC 3339 text, not Dates). */
export function getPodJson(kc: KubeConfig, pod: { namespace: string; name: string }): Promise<V1Pod> {
  return requestJson<V1Pod>(kc, 'GET', podPath(pod.namespace, pod.name));
}

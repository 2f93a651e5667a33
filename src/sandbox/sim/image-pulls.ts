/**
 * How long an image takes to pull and how big it is: fixed per image name (a hash of it), so every node
 * pulls the same image in the same time, and a scenario replays the same way. Which pulls a pod starting
 * on a node needs, and the kubelet's `Pulled` message.
 */
import { R } from '../api/resources.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { KubeObject } from '../store/types.ts';
import { fnv1a32 } from './fnv1a.ts';
import { containersOf } from './pod-status.ts';

/** Images are 20 MB to 220 MB. */
const MIN_IMAGE_BYTES = 20_000_000;
const IMAGE_BYTES_SPREAD = 200_000_000;

/**
 * The pull of `image` when the typical pull takes `typicalMs`: from half to one and a half times that.
 * Worked example: typicalMs 3,000 and an image hashing to 0.25 → 2,250 ms, 70 MB.
 */
export function imagePull(image: string, typicalMs: number): { ms: number; bytes: number } {
  const h = fnv1a32(image) / 2 ** 32;
  return {
    ms: Math.round(typicalMs * (0.5 + h)),
    bytes: MIN_IMAGE_BYTES + Math.round(h * IMAGE_BYTES_SPREAD),
  };
}

/** What a node holds: images by the clock time they are there, and those it had when the sandbox started. */
export interface NodeImages {
  images: Map<string, number>;
  bootImages?: ReadonlySet<string>;
}

/**
 * The pulls the pod needs on the node at `nowMs`: each image the node lacks is pulled (and recorded on the
 * node), a pull already under way for another pod is joined, not repeated. `waitFor`: the images not there
 * yet; `doneAt`: when the last one is.
 */
export function pullImagesFor(
  node: NodeImages,
  pod: KubeObject,
  nowMs: number,
  typicalPullMs: number,
): { waitFor: string[]; doneAt: number } {
  const waitFor: string[] = [];
  let doneAt = nowMs;
  for (const image of new Set(containersOf(pod).map((c) => c.image ?? ''))) {
    let readyAt = node.images.get(image) ?? (node.bootImages?.has(image) ? 0 : undefined);
    if (readyAt === undefined) {
      readyAt = nowMs + imagePull(image, typicalPullMs).ms;
      node.images.set(image, readyAt);
    }
    if (readyAt > nowMs) waitFor.push(image);
    doneAt = Math.max(doneAt, readyAt);
  }
  return { waitFor, doneAt };
}

/** The kubelet's `Pulled` message once `image` is there, after the pod waited `waitedMs` for it. */
export function pulledMessage(image: string, typicalPullMs: number, waitedMs: number): string {
  const pull = imagePull(image, typicalPullMs);
  return `Successfully pulled image "${image}" in ${formatSeconds(pull.ms)} (${formatSeconds(waitedMs)} including waiting). Image size: ${pull.bytes} bytes.`;
}

/** "3.2s", as Go prints a duration rounded to milliseconds. */
function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(3))}s` : `${Math.round(ms)}ms`;
}

/** Every image the cluster's pods and workload templates use: what nodes that have been running hold. */
export function imagesInUse(store: ObjectStore): Set<string> {
  const images = new Set<string>();
  const add = (spec: KubeObject['spec']) => {
    for (const c of (spec?.containers ?? []) as Array<{ image?: string }>) if (c.image) images.add(c.image);
    for (const c of (spec?.initContainers ?? []) as Array<{ image?: string }>)
      if (c.image) images.add(c.image);
  };
  for (const resource of [R.deployments, R.replicasets, R.statefulsets, R.daemonsets, R.jobs])
    for (const workload of store.list(resource)) add(workload.spec?.template?.spec);
  // Note: pods of one workload share their spec's container list when pre-bound, so this is quick at 150,000.
  for (const pod of store.list(R.pods)) add(pod.spec);
  return images;
}

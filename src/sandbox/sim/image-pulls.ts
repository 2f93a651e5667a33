/**
 * How long an image takes to pull and how big it is: fixed per image name (a hash of it), so every node
 * pulls the same image in the same time, and a scenario replays the same way.
 */
import { R } from '../api/resources.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { KubeObject } from '../store/types.ts';

/** Images are 20 MB to 220 MB. */
const MIN_IMAGE_BYTES = 20_000_000;
const IMAGE_BYTES_SPREAD = 200_000_000;

/**
 * The pull of `image` when the typical pull takes `typicalMs`: from half to one and a half times that.
 * Worked example: typicalMs 3,000 and an image hashing to 0.25 → 2,250 ms, 70 MB.
 */
export function imagePull(image: string, typicalMs: number): { ms: number; bytes: number } {
  const h = fnv1a(image) / 2 ** 32;
  return {
    ms: Math.round(typicalMs * (0.5 + h)),
    bytes: MIN_IMAGE_BYTES + Math.round(h * IMAGE_BYTES_SPREAD),
  };
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

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Timing spread: on a real cluster no two pods stop or start in exactly the same time and no two nodes
 * reboot in the same time. With a scenario's `timing.spread`, each of those durations is its SimTiming value
 * times a factor from 1 − ratio to 1 + ratio, drawn from a hash of the spread's seed and what the duration
 * belongs to (a node; a pod's workload on its node) — like image pulls (image-pulls.ts), fixed per name
 * rather than drawn from ctx.random(): two clients that upgrade the same cluster in a different order see
 * the same node reboot in the same time, so a comparison of them (bench/compare-peers.ts --seeds) varies the
 * cluster, not the luck of the draw order.
 */
import type { KubeObject } from '../store/types.ts';
import { fnv1a32 } from './fnv1a.ts';

export interface TimingSpread {
  /** From 0 to 0.5: each duration is its value × (1 ± up to ratio). */
  ratio: number;
  /** Picks the factors: another seed, other factors. */
  seed: number;
}

/** What a spread duration is of: a pod's start, readiness or stop, or a node's upgrade (its reboot). */
export type SpreadKind = 'podStart' | 'podReady' | 'podStop' | 'nodeUpgrade';

/**
 * `baseMs` with the spread of `kind` for `key`; `baseMs` itself without a spread.
 * Worked example: ratio 0.2, a hash of 0.75 → factor 1 − 0.2 + 0.4 × 0.75 = 1.1: a 30 s reboot takes 33 s.
 */
export function spreadMs(
  baseMs: number,
  spread: TimingSpread | undefined,
  kind: SpreadKind,
  key: string,
): number {
  if (!spread || spread.ratio <= 0 || baseMs <= 0) return baseMs;
  const h = mixed(fnv1a32(`${spread.seed}/${kind}/${key}`)) / 2 ** 32;
  return Math.round(baseMs * (1 - spread.ratio + 2 * spread.ratio * h));
}

/**
 * MurmurHash3's finaliser: FNV-1a moves a last character's change only a little into the high bits, so
 * "general-1" and "general-2" would get factors 1 % apart; mixed, every bit of the key moves the whole range.
 */
function mixed(h: number): number {
  let x = h;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** `baseMs` with the spread of the pod's `kind` of duration (see podSpreadKey); no work without a spread. */
export function podSpreadMs(
  baseMs: number,
  spread: TimingSpread | undefined,
  kind: SpreadKind,
  pod: KubeObject,
): number {
  return spread && spread.ratio > 0 ? spreadMs(baseMs, spread, kind, podSpreadKey(pod)) : baseMs;
}

/**
 * What a pod's durations are keyed by: its workload (a controller's pods share a generateName; a
 * StatefulSet's pod keeps its name) on its node, so the pods a client's evictions create anew start in the
 * same time wherever they land the same way, whatever random suffix the ReplicaSet gave them.
 */
export function podSpreadKey(pod: KubeObject): string {
  const m = pod.metadata;
  return `${m.namespace ?? ''}/${m.generateName ?? m.name ?? ''}@${(pod.spec?.nodeName as string | undefined) ?? ''}`;
}

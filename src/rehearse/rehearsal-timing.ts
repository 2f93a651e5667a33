/**
 * The durations a rehearsal simulates, and where each came from: the policy's `timings` when the policy file
 * sets them, else the policy defaults the plan estimates with. Each run jitters them (seeded), so that N runs
 * give a spread rather than N copies of one number.
 *
 * How they become the sandbox's physics (a worked example with the defaults, nodeDrain 3m, nodeUpgrade 5m,
 * podStartup 30s):
 * - nodeUpgrade → the node's reboot into the new kubelet: NotReady for 5 min; under a replacement strategy
 *   (surge, blue-green), the new node's boot until it registers;
 * - nodeDrain → how long an evicted pod takes to exit: 3 min, but never beyond its own grace period (a pod
 *   with the usual 30 s is killed at 30 s, as the kubelet does);
 * - podStartup → an evicted pod's replacement: containers start after 2/5 of it (12 s) and turn Ready 3/5
 *   later (18 s), the sandbox's own proportions (2 s and 3 s by default).
 */
import { parse } from 'yaml';
import { parseDuration } from '../core/index.ts';
import type { Policy } from '../plan/index.ts';
import type { SimTiming } from '../sandbox/context.ts';

export const REHEARSED_TIMINGS = ['nodeDrain', 'nodeUpgrade', 'podStartup'] as const;
export type RehearsedTiming = (typeof REHEARSED_TIMINGS)[number];
export type TimingSource = 'policy' | 'default';

export interface TimingValue {
  ms: number;
  source: TimingSource;
}

export type RehearsalTimings = Record<RehearsedTiming, TimingValue>;

/** How far each run's timings stray from the stated ones: ±20 %, uniformly. */
export const JITTER = 0.2;

/**
 * The rehearsed timings of `policy`; `setInFile` names the `timings` keys the policy file itself wrote
 * (timingKeysOf), the others are the defaults.
 */
export function rehearsalTimings(policy: Policy, setInFile: readonly string[]): RehearsalTimings {
  const value = (key: RehearsedTiming): TimingValue => ({
    ms: parseDuration(policy.timings[key]),
    source: setInFile.includes(key) ? 'policy' : 'default',
  });
  return {
    nodeDrain: value('nodeDrain'),
    nodeUpgrade: value('nodeUpgrade'),
    podStartup: value('podStartup'),
  };
}

/** The keys under `timings:` in a policy file's text (already validated), for rehearsalTimings. */
export function timingKeysOf(policyText: string | undefined): string[] {
  if (!policyText) return [];
  const doc = parse(policyText) as { timings?: Record<string, unknown> } | null;
  return Object.keys(doc?.timings ?? {});
}

/**
 * The sandbox timing of one run: each rehearsed duration scaled by its own factor in [1 − JITTER, 1 + JITTER]
 * drawn from `random`; `random` undefined: exactly as stated.
 */
export function simTimingOf(timings: RehearsalTimings, random?: () => number): Partial<SimTiming> {
  const jittered = (t: TimingValue) => Math.round(t.ms * (random ? 1 + JITTER * (2 * random() - 1) : 1));
  const drain = jittered(timings.nodeDrain);
  const upgrade = jittered(timings.nodeUpgrade);
  const startup = jittered(timings.podStartup);
  return {
    podStopMs: drain,
    nodeUpgradeMs: upgrade,
    nodeBootMs: upgrade,
    podStartMs: Math.round((startup * 2) / 5),
    podReadyMs: startup - Math.round((startup * 2) / 5),
  };
}

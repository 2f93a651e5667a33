/**
 * What `plan`, `apply --to` and `demo` plan with besides the cluster and the policy: the node timings earlier
 * runs on the same cluster measured (read from the state store, when there is one), and the timings the
 * policy file sets itself, which measurements never replace.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { type ClusterSnapshot, clusterFingerprint } from '../core/index.ts';
import type { PlanOptions } from '../plan/index.ts';
import { clusterHistory, measuredTimings, RunStore } from '../store/index.ts';
import { stateStoreFile } from './run-session.ts';

/** The measurements of the snapshot's cluster in the store at `statePath`; none when there is no store. */
export function planOptionsFor(
  snapshot: ClusterSnapshot,
  input: { statePath?: string; policyPath?: string; store?: RunStore },
): PlanOptions {
  const options: PlanOptions = { explicitTimings: timingKeysOf(input.policyPath) };
  const fingerprint = clusterFingerprint(snapshot);
  if (input.store) {
    const measured = measuredTimings(clusterHistory(input.store, fingerprint));
    return measured ? { ...options, measured } : options;
  }
  const { file, exists } = stateStoreFile(input.statePath);
  if (!exists || file === ':memory:') return options;
  let store: RunStore;
  try {
    store = RunStore.open(file);
  } catch {
    // Note: history only sharpens the estimate; a store this midflight cannot read plans as if it had none.
    return options;
  }
  try {
    const measured = measuredTimings(clusterHistory(store, fingerprint));
    return measured ? { ...options, measured } : options;
  } finally {
    store.close();
  }
}

/** The keys under `timings:` in the policy file (already read and validated by readPolicyFile). */
function timingKeysOf(path: string | undefined): string[] {
  if (!path) return [];
  const doc = parse(readFileSync(path, 'utf8')) as { timings?: Record<string, unknown> } | null;
  return Object.keys(doc?.timings ?? {});
}

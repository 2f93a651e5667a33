/**
 * A refusal to start a run names the run the user should continue instead. Without it, a user told "the
 * cluster moved on: write a new plan" starts a second run and leaves the first one unfinished for ever.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Plan } from '../plan/index.ts';
import type { RunRecord, RunStore } from '../store/index.ts';
import { holderGone } from './run-holder.ts';

const UNFINISHED: RunRecord['state'][] = ['pending', 'running', 'paused', 'failed', 'incomplete'];

/**
 * The unfinished runs of `plan`'s cluster (the same plan first), each with what to do about it, as one
 * sentence to append to a refusal; undefined when there is none.
 */
export async function unfinishedRunHint(
  store: RunStore,
  plan: Plan,
  kc: KubeConfig | undefined,
): Promise<string | undefined> {
  const runs = store.listRuns({ clusterFingerprint: plan.cluster.fingerprint, states: UNFINISHED, limit: 5 });
  if (runs.length === 0) return undefined;
  const ordered = [...runs.filter((r) => r.planId === plan.id), ...runs.filter((r) => r.planId !== plan.id)];
  const sentences: string[] = [];
  for (const run of ordered) {
    const what = `run ${run.id} (${run.mode === 'rollback' ? 'rolling back ' : ''}plan ${run.planId}${run.planId === plan.id ? ', this plan' : ''}) is ${run.state}`;
    if (run.state === 'running' || run.state === 'pending') {
      const gone = await holderGone(run, kc);
      sentences.push(
        gone
          ? `${what} but its holder is gone (${gone}): \`midflight resume ${run.id}\` continues it`
          : `${what}, executed by ${run.holder ?? 'another process'}: wait for it, or \`midflight pause ${run.id}\``,
      );
    } else sentences.push(`${what}: \`midflight resume ${run.id}\` continues it`);
  }
  return `Unfinished in this state store: ${sentences.join('; ')}. Continue it rather than writing a new plan.`;
}

/**
 * Pause and abort are requests written to the store; the process executing the run polls for them and
 * stops at its next safe point (pause: after the nodes in flight finish; abort: after their current
 * sub-step, then it uncordons what it cordoned unless `keepCordoned`).
 */
import type { RunRecord, RunStore } from '../store/index.ts';
import { RunStateError } from './errors.ts';

export function requestPause(store: RunStore, runId: string): RunRecord {
  const run = store.mustGetRun(runId);
  if (run.state !== 'running' && run.state !== 'pending')
    throw new RunStateError(
      runId,
      run.state,
      `run ${runId} is ${run.state}: only a running run can be paused`,
    );
  return store.requestAction(runId, 'pause');
}

/**
 * A running run stops at its next safe point; a paused or failed one is marked aborted at once (its nodes
 * were left consistent when it stopped), unless it still holds nodes it cordoned: then `resume` aborts it.
 */
export function requestAbort(
  store: RunStore,
  runId: string,
  options: { keepCordoned?: boolean } = {},
): RunRecord {
  const run = store.mustGetRun(runId);
  if (run.state === 'succeeded' || run.state === 'aborted' || run.state === 'rolled-back')
    throw new RunStateError(runId, run.state, `run ${runId} is ${run.state}: there is nothing to abort`);
  return store.requestAction(runId, 'abort', { keepCordoned: options.keepCordoned === true });
}

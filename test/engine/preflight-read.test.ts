/**
 * How often a new run reads the whole cluster before its first node: the plan check reads it, and the
 * preflight step checks that same read (taken moments before) unless a hook ran in between.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealClock } from '../../src/core/clock.ts';
import { startRun } from '../../src/engine/index.ts';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import { requestsServed } from '../kube/requests-served.ts';
import {
  FAST,
  harness,
  planFor,
  SandboxApiProvider,
  startCluster,
  testPolicy,
  WORKERS_CLUSTER,
} from './engine-harness.ts';

/** Starts a run, stops it once its preflight step is done, and counts the whole-cluster pod lists it made. */
async function podListsUntilPreflightDone(
  sandbox: RunningSandbox,
  hooks?: Record<string, unknown>,
): Promise<{ lists: number; preflightDone: boolean; state: string }> {
  const h = harness(sandbox, new SandboxApiProvider(sandbox));
  const stop = new AbortController();
  let preflightDone = false;
  try {
    const plan = await planFor(sandbox, 'v1.31.2', testPolicy(hooks ? { hooks } : {}));
    const before = await requestsServed(sandbox, 'list', 'pods');
    const summary = await startRun(
      {
        ...h.deps,
        // Note: the run's own clock at real speed: the read is reused only when moments old (5 s of clock),
        // and at the harness's ×40 a busy machine could make the moments between older than that.
        clock: new RealClock(),
        onEvent: (e) => {
          if (e.type === 'step-finished' && e.stepId === 'preflight') {
            preflightDone = true;
            stop.abort();
          }
        },
      },
      plan,
      { ...FAST, signal: stop.signal },
    );
    return {
      lists: (await requestsServed(sandbox, 'list', 'pods')) - before,
      preflightDone,
      state: summary.state,
    };
  } finally {
    h.cleanup();
  }
}

describe("a new run's reads of the whole cluster", () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startCluster(WORKERS_CLUSTER);
  }, 30_000);
  afterAll(async () => sandbox?.stop());

  it('reads it once: the preflight step checks what the plan check read', async () => {
    const run = await podListsUntilPreflightDone(sandbox);
    expect(run).toEqual({ lists: 1, preflightDone: true, state: 'paused' });
  });

  it('reads it again for the preflight step after a hook, which may have changed it', async () => {
    const run = await podListsUntilPreflightDone(sandbox, { pre: { preflight: 'true' } });
    expect(run).toEqual({ lists: 2, preflightDone: true, state: 'paused' });
  });
});

/** Policy hooks at phase boundaries: they run in order with the run's context, and a failing one stops the run. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHook } from '../../src/engine/hooks.ts';
import { HookFailedError, hooksOf, PlanRejectedError, startRun } from '../../src/engine/index.ts';
import {
  FAST,
  harness,
  nodes,
  planFor,
  SandboxApiProvider,
  startCluster,
  testPolicy,
  WORKERS_CLUSTER,
} from './engine-harness.ts';

describe('hooks', () => {
  it('runs pre and post hooks around each phase; a failing pre hook stops the run before the phase', async () => {
    const sandbox = await startCluster(WORKERS_CLUSTER);
    const h = harness(sandbox, new SandboxApiProvider(sandbox));
    const trace = join(h.statePath, '..', 'trace.txt');
    try {
      const policy = testPolicy({
        hooks: {
          pre: {
            all: `echo "pre $MIDFLIGHT_PHASE {runId}" >> ${trace}`,
            'node-pool': 'echo not today >&2; exit 3',
          },
          post: { all: `echo "post {phase}" >> ${trace}` },
        },
      });
      const summary = await startRun(h.deps, await planFor(sandbox, 'v1.31.2', policy), FAST);
      expect(summary.state).toBe('failed');
      expect(summary.reason).toBe('hook pre.node-pool exited with status 3: not today');
      const lines = readFileSync(trace, 'utf8').trim().split('\n');
      expect(lines).toEqual([
        `pre preflight ${summary.runId}`,
        'post preflight',
        `pre canary ${summary.runId}`,
        'post canary',
      ]);
      // The canary was upgraded; the pool's nodes were not touched.
      const versions = (await nodes(sandbox)).filter(
        (n) => n.version === 'v1.31.2' && !n.name.startsWith('cp-'),
      );
      expect(versions).toHaveLength(1);
    } finally {
      h.cleanup();
      await sandbox.stop();
    }
  }, 30_000);

  it.each([
    [{ pre: { nodes: 'x' } }, /hooks.pre.nodes: unknown phase/],
    [{ post: 'x' }, /hooks.post: must map a phase kind/],
    [{ backup: '' }, /hooks.backup: must be a command/],
    [{ timeout: 'soon' }, /hooks.timeout: must be a duration/],
    [{ pre_all: 'x' }, /hooks.pre_all: unknown field/],
  ])('refuses hooks %j', (hooks, message) => {
    expect(() => hooksOf(hooks)).toThrow(PlanRejectedError);
    expect(() => hooksOf(hooks)).toThrow(message);
  });

  it('a hook past its timeout fails, and what it started is stopped with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midflight-hook-'));
    const marker = join(dir, 'still-running');
    try {
      const hook = runHook(
        `(sleep 1; touch ${marker}) & wait`,
        { name: 'pre.all', phase: 'preflight', runId: 'run-1', target: 'v1.31.2', log: () => {} },
        200,
      );
      await expect(hook).rejects.toBeInstanceOf(HookFailedError);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

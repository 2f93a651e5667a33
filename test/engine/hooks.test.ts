/** Policy hooks at phase boundaries: they run in order with the run's context, and a failing one stops the run. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HookContext, runHook } from '../../src/engine/hooks.ts';
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

  describe('runHook', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'midflight-hook-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const hookContext = (overrides: Partial<HookContext> = {}): HookContext => ({
      name: 'pre.all',
      phase: 'preflight',
      runId: 'run-1',
      target: 'v1.31.2',
      outputFile: join(dir, 'runs', 'run-1', 'hook-pre.all.log'),
      log: () => {},
      ...overrides,
    });

    it('a hook past its timeout fails, and what it started is stopped with it', async () => {
      const marker = join(dir, 'still-running');
      const hook = runHook(`(sleep 1; touch ${marker}) & wait`, hookContext(), 200);
      await expect(hook).rejects.toBeInstanceOf(HookFailedError);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(existsSync(marker)).toBe(false);
    });

    it('a hook that ignores SIGTERM is killed, with what it started, once the grace period is over', async () => {
      const pidFile = join(dir, 'sleeper.pid');
      const hook = runHook(`trap '' TERM; sleep 1000 & echo $! > ${pidFile}; wait`, hookContext(), 200, {
        killGraceMs: 300,
      });
      const err = await hook.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HookFailedError);
      expect((err as Error).message).toBe('hook pre.all timed out after 0.2s');
      // The background sleep was in the hook's process group: SIGKILL took it too. Note: polled, as the
      // kernel reaps it a moment after the kill; the bound only keeps a regression from hanging the test.
      const sleeper = Number(readFileSync(pidFile, 'utf8'));
      for (let i = 0; i < 100 && isAlive(sleeper); i++) await new Promise((r) => setTimeout(r, 50));
      expect(isAlive(sleeper)).toBe(false);
    });

    it("stops a hook that ignores SIGTERM when the run's stop signal fires", async () => {
      const controller = new AbortController();
      const hook = runHook("trap '' TERM; sleep 1000", hookContext({ signal: controller.signal }), 0, {
        killGraceMs: 300,
      });
      setTimeout(() => controller.abort(), 100);
      await expect(hook).rejects.toThrow('hook pre.all was stopped: the run is stopping');
    });

    it('a run log that cannot be written stops the hook and fails with that error', async () => {
      const full = new Error('database or disk is full');
      const ctx = hookContext({
        log: (line) => {
          if (line === 'one') throw full;
        },
      });
      await expect(runHook('echo one; sleep 1000', ctx, 0, { killGraceMs: 300 })).rejects.toBe(full);
    });

    it('hands over a line written in two pieces as one line, and keeps the output in its file', async () => {
      const lines: string[] = [];
      const ctx = hookContext({ log: (line) => lines.push(line) });
      await runHook("printf 'oncall: '; sleep 0.3; echo alice", ctx, 10_000);
      expect(lines.slice(1)).toEqual(['oncall: alice']);
      expect(readFileSync(ctx.outputFile, 'utf8')).toBe('oncall: alice\n');
    });
  });
});

/** Whether a process exists (and is not a zombie waiting to be reaped). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

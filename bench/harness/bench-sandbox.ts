import type { Clock } from '../../src/core/clock.ts';
import { startInProcess as startInProcessSandbox } from '../../src/sandbox/in-process.ts';
import type { Sandbox } from '../../src/sandbox/sandbox.ts';
import type { Scenario } from '../../src/sandbox/scenario/scenario-types.ts';
import { requestCounts, requestsSince } from './request-counts.ts';

/** What the sandbox measured between `measureStart()` and `measureEnd()`. */
export interface SandboxMeasure {
  /** API requests served, by "verb resource[/subresource]" (see requestCounts). */
  requests: Array<[string, number]>;
  /** Budget violations the sandbox recorded since it started (its `ctx.violations`, as the demo reports). */
  violations: number;
  /** The sandbox's own process, when it has one (a scaled clock). */
  process?: { cpuMs: number; lagP99Ms: number; lagMaxMs: number };
}

/** The cluster under test, in the engine's process or in its own. */
export interface BenchSandbox {
  readonly kubeconfig: string;
  /** The clock the client must use to share the sandbox's time. */
  readonly clock: Clock;
  readonly startupMs: number;
  /** What describes the clock in the report: "virtual", "×15". */
  readonly clockName: string;
  measureStart(): Promise<void>;
  measureEnd(): Promise<SandboxMeasure>;
  stop(): Promise<void>;
}

/** A sandbox in the bench's own process: the bench may also look at its cluster directly (NodePhaseWatch). */
export interface InProcessSandbox extends BenchSandbox {
  readonly sandbox: Sandbox;
}

/**
 * Starts `scenario` in this process on a virtual clock (src/sandbox/in-process.ts): what a client measures in
 * clock time is what it waits for. Resolves once every pod is Running and Ready and every workload has its
 * replicas.
 */
export async function startInProcess(scenario: Scenario): Promise<InProcessSandbox> {
  const started = performance.now();
  const running = await startInProcessSandbox(scenario);
  const box = running.sandbox;
  let before = new Map<string, number>();
  return {
    sandbox: box,
    kubeconfig: running.kubeconfig,
    clock: running.clock,
    startupMs: performance.now() - started,
    clockName: 'virtual',
    async measureStart() {
      before = await requestCounts(box);
    },
    async measureEnd() {
      return {
        requests: requestsSince(before, await requestCounts(box)),
        violations: box.ctx.violations.length,
      };
    },
    stop: () => running.stop(),
  };
}

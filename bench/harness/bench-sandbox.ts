import type { Clock } from '../../src/core/clock.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { advanceWhenIdle } from '../../src/sandbox/idle-time.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';
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
 * Starts `scenario` in this process on a VirtualClock that jumps to its next timer whenever the process is
 * idle, with no request waiting for an answer (`src/sandbox/idle-time.ts`): work costs no clock time, so what
 * a client measures in clock time is what it waits for, however fast or loaded the machine. Resolves once
 * every pod is Running and Ready and every workload has its replicas.
 */
export async function startInProcess(scenario: Scenario): Promise<InProcessSandbox> {
  const started = performance.now();
  const clock = new VirtualClock(Date.now());
  const box = await Sandbox.start({ scenario, clock, tls: true, token: 'bench' });
  const driver = advanceWhenIdle(clock);
  try {
    await box.waitUntilSettled(10 * 60_000);
    await waitForWorkloads(box, 10 * 60_000);
  } catch (err) {
    await driver.stop();
    await box.stop();
    throw err;
  }
  let before = new Map<string, number>();
  return {
    sandbox: box,
    kubeconfig: box.kubeconfig(),
    clock,
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
    async stop() {
      await driver.stop();
      await box.stop();
    },
  };
}

/** Waits until every workload has its replicas Ready (see Sandbox.workloadsNotReady). */
async function waitForWorkloads(box: Sandbox, timeoutMs: number): Promise<void> {
  const { clock } = box.ctx;
  const deadline = clock.now() + timeoutMs;
  for (let waiting = box.workloadsNotReady(); waiting.length > 0; waiting = box.workloadsNotReady()) {
    if (clock.now() >= deadline)
      throw new Error(`the sandbox did not settle: ${waiting.slice(0, 5).join(', ')} not Ready`);
    await clock.sleep(1000);
  }
}

/**
 * The copy a rehearsal runs on, started in the rehearsal's own thread or in a worker thread, on one virtual
 * clock either way (src/sandbox/in-process.ts), and what it observed from its own store (copy-observer.ts).
 * In a worker, the copy and the engine run on two cores.
 */
import type { VirtualClock } from '../core/index.ts';
import { startInProcess, startInWorker } from '../sandbox/in-process.ts';
import { siblingModule } from '../sandbox/module-worker.ts';
import type { Scenario } from '../sandbox/scenario/scenario-types.ts';
import { type CopyObservations, observeCopy } from './copy-observer.ts';
import { SharedJsonCell } from './shared-json-cell.ts';

/** Where the copy runs: in the rehearsal's thread, or in a worker thread of its own. */
export type CopyThread = 'main' | 'worker';

export interface RunningCopy {
  /** The rehearsal's clock: the copy's, or one that moves with it. */
  readonly clock: VirtualClock;
  readonly kubeconfig: string;
  /** Rejects if the copy's thread dies: the run would otherwise wait for time forever. */
  readonly failed: Promise<never>;
  /** The pools with a node in flight, for the pods stranded from now on. */
  setPoolsInFlight(pools: readonly string[]): void;
  /** Stops the copy: what it observed. */
  stop(): Promise<CopyObservations>;
}

/** Room for the pools in flight, as JSON: a few hundred pool names. */
const POOLS_CELL_BYTES = 64 * 1024;

export async function startCopy(
  scenario: Scenario,
  options: { startAt: number; thread: CopyThread },
): Promise<RunningCopy> {
  // Note: plain HTTP (behind a token) on loopback: the engine and the copy share this process, and TLS was a
  // third of the CPU of each request (bench/tls-cost.ts).
  const startOptions = { startAt: options.startAt, tls: false };
  if (options.thread === 'worker') {
    const pools = SharedJsonCell.allocate<readonly string[]>(POOLS_CELL_BYTES, []);
    const copy = await startInWorker(scenario, {
      ...startOptions,
      observer: { module: siblingModule(import.meta.url, 'copy-observer'), data: pools.buffer },
    });
    return {
      clock: copy.clock,
      kubeconfig: copy.kubeconfig,
      failed: copy.failed,
      setPoolsInFlight: (inFlight) => pools.write(inFlight),
      stop: async () => (await copy.stop()) as CopyObservations,
    };
  }
  const copy = await startInProcess(scenario, startOptions);
  let inFlight: readonly string[] = [];
  const observer = observeCopy(copy.sandbox, () => inFlight);
  return {
    clock: copy.clock,
    kubeconfig: copy.kubeconfig,
    failed: new Promise<never>(() => {}),
    setPoolsInFlight: (pools) => {
      inFlight = pools;
    },
    async stop() {
      const observed = observer.finish();
      await copy.stop();
      return observed;
    },
  };
}

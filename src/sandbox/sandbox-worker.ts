/**
 * The worker thread of `startInWorker` (in-process.ts): starts the sandbox on this thread's VirtualClock,
 * which follows the main thread's (shared-time.ts), waits until it has settled, and says where it listens.
 * An observer module (the rehearsal's: budgets' statuses, downtimes) may watch the sandbox's store from this
 * thread; what it found is handed back when the main thread stops the sandbox.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { VirtualClock } from '../core/index.ts';
import { settleInProcess } from './in-process.ts';
import { Sandbox } from './sandbox.ts';
import type { Scenario } from './scenario/scenario-types.ts';
import { followSharedTime } from './shared-time.ts';

/** What a module named as the sandbox's observer exports. */
export interface SandboxObserverModule {
  observe(sandbox: Sandbox, data: unknown): { finish(): unknown };
}

export interface SandboxWorkerData {
  scenario: Scenario;
  startAt: number;
  settleTimeoutMs: number;
  tls: boolean;
  token: string;
  shared: SharedArrayBuffer;
  observer?: { module: string; data?: unknown };
}

/** Messages from the worker. */
export type SandboxWorkerMessage =
  | { type: 'ready'; kubeconfig: string; port: number }
  | { type: 'failed'; message: string }
  | { type: 'stopped'; observed: unknown };

/** Messages to the worker. */
export type SandboxWorkerCommand = { type: 'stop' };

const port = parentPort!;
const input = workerData as SandboxWorkerData;
const clock = new VirtualClock(input.startAt);
const following = followSharedTime(clock, input.shared);
const send = (message: SandboxWorkerMessage) => port.postMessage(message);

const box = await Sandbox.start({ scenario: input.scenario, clock, tls: input.tls, token: input.token });
try {
  await settleInProcess(box, input.settleTimeoutMs);
  const observing = input.observer
    ? ((await import(input.observer.module)) as SandboxObserverModule).observe(box, input.observer.data)
    : undefined;
  port.once('message', async (command: SandboxWorkerCommand) => {
    if (command.type !== 'stop') return;
    const observed = observing?.finish();
    await box.stop();
    await following;
    send({ type: 'stopped', observed });
  });
  send({ type: 'ready', kubeconfig: box.kubeconfig(), port: Number(new URL(box.url).port) });
} catch (err) {
  await box.stop();
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
}

/**
 * A sandbox in its client's own process on a VirtualClock that jumps to its next timer whenever the process
 * is idle, with no request waiting for an answer (idle-time.ts): work costs no clock time, so what the
 * client measures in clock time is what it waits for, however fast or loaded the machine. The scale bench
 * and a rehearsal (src/rehearse) run on it.
 */
import { randomBytes } from 'node:crypto';
import { VirtualClock } from '../core/index.ts';
import { R } from './api/resources.ts';
import { advanceWhenIdle } from './idle-time.ts';
import { Sandbox, type SandboxStartOptions } from './sandbox.ts';
import type { Scenario } from './scenario/scenario-types.ts';

export interface InProcessSandbox {
  readonly sandbox: Sandbox;
  readonly clock: VirtualClock;
  /** For client-node: the sandbox's address (https, or http with `tls: false`), CA and token. */
  readonly kubeconfig: string;
  stop(): Promise<void>;
}

export interface InProcessOptions {
  /** Where the virtual clock starts (epoch ms); default the wall clock's now. */
  startAt?: number;
  /** Clock ms the cluster may take to settle before start gives up (default 10 minutes). */
  settleTimeoutMs?: number;
  /**
   * Keep the objects in this etcd (see Sandbox.start). Note: an etcd request holds the virtual clock like
   * any HTTP request, so simulated time waits for etcd to keep up.
   */
  etcd?: SandboxStartOptions['etcd'];
  /**
   * Serve HTTPS (the default) or, with false, plain HTTP on 127.0.0.1, still behind a bearer token. A client
   * in the same process gains nothing from encryption on loopback, and pays for it on every request: over
   * kept-alive connections TLS took a node GET from 0.5–0.8 ms to 0.9–1.1 ms of CPU (client and server
   * together, bench/tls-cost.ts), a third of the cost of the requests a rehearsal makes.
   */
  tls?: boolean;
}

/**
 * Starts `scenario` and resolves once every pod is Running and Ready and every workload has its replicas;
 * rejects (with the sandbox stopped) when it does not settle.
 */
export async function startInProcess(
  scenario: Scenario,
  options: InProcessOptions = {},
): Promise<InProcessSandbox> {
  const clock = new VirtualClock(options.startAt ?? Date.now());
  const settleMs = options.settleTimeoutMs ?? 10 * 60_000;
  // Note: a fresh token per sandbox: with plain HTTP it is all that keeps another local process out.
  const token = randomBytes(24).toString('base64url');
  const box = await Sandbox.start({ scenario, clock, tls: options.tls ?? true, token, etcd: options.etcd });
  const driver = advanceWhenIdle(clock);
  try {
    await box.waitUntilSettled(settleMs);
    await waitForWorkloads(box, settleMs);
  } catch (err) {
    await driver.stop();
    await box.stop();
    throw err;
  }
  return {
    sandbox: box,
    clock,
    kubeconfig: box.kubeconfig(),
    async stop() {
      await driver.stop();
      await box.stop();
    },
  };
}

/**
 * Waits until every workload has its replicas Ready (see Sandbox.workloadsNotReady) and every disruption
 * budget has a status. Note: the disruption controller writes the statuses once the clock moves; without
 * them a budget allows nothing, so the first evictions of whatever runs next would all be refused, which no
 * real cluster with settled budgets does.
 */
async function waitForWorkloads(box: Sandbox, timeoutMs: number): Promise<void> {
  const { clock } = box.ctx;
  const deadline = clock.now() + timeoutMs;
  const notSettled = () => [...box.workloadsNotReady(), ...budgetsWithoutStatus(box)];
  for (let waiting = notSettled(); waiting.length > 0; waiting = notSettled()) {
    if (clock.now() >= deadline)
      throw new Error(`the sandbox did not settle: ${waiting.slice(0, 5).join(', ')} not Ready`);
    await clock.sleep(1000);
  }
}

function budgetsWithoutStatus(box: Sandbox): string[] {
  return box.ctx.store
    .list(R.pdbs)
    .filter((pdb) => pdb.status === undefined)
    .map((pdb) => `PodDisruptionBudget ${pdb.metadata.namespace}/${pdb.metadata.name}`);
}

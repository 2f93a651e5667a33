import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.ts';
import {
  acquireLease,
  type LeaseHandle,
  LeaseHeldError,
  LeaseLostError,
  leaseHolderIdentity,
  RUN_ID_ANNOTATION,
} from '../../src/kube/lease-lock.ts';
import { type RunningSandbox, startSandbox } from '../e2e/sandbox-harness.ts';
import { SkewedClock } from './skewed-clock.ts';

describe('the one-run-per-cluster Lease', () => {
  let sandbox: RunningSandbox;
  const handles: LeaseHandle[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox({ scenario: 'pdb-deadlock', timeScale: 50 });
  });
  afterAll(async () => {
    for (const handle of handles) await handle.release().catch(() => {});
    await sandbox?.stop();
  });

  async function acquire(
    name: string,
    runId: string,
    extra: {
      leaseDurationSeconds?: number;
      renewIntervalMs?: number;
      onLost?: (r: string) => void;
      onWaiting?: (holder: string, upToMs: number) => void;
      clock?: Clock;
    } = {},
  ) {
    const handle = await acquireLease(sandbox.kubeConfig(), {
      name,
      holder: leaseHolderIdentity(runId, 'host-a', 100),
      clock: sandbox.box.ctx.clock,
      annotations: { [RUN_ID_ANNOTATION]: runId },
      ...extra,
    });
    handles.push(handle);
    return handle;
  }

  async function leaseOf(name: string) {
    const api = sandbox.kubeConfig().makeApiClient(CoordinationV1Api);
    return api.readNamespacedLease({ name, namespace: 'kube-system' });
  }

  it('refuses a second run, naming the holder and since when; renewal keeps it held past its duration', async () => {
    const first = await acquire('lock-a', 'run-1', { leaseDurationSeconds: 10 });
    expect(first.isHeld).toBe(true);
    const lease = await leaseOf('lock-a');
    expect(lease.spec?.holderIdentity).toBe('midflight/run-1@host-a:100');
    expect(lease.metadata?.annotations?.[RUN_ID_ANNOTATION]).toBe('run-1');
    const since = new Date(lease.spec?.acquireTime as unknown as string);

    const refused = await acquire('lock-a', 'run-2').catch((e) => e);
    expect(refused).toBeInstanceOf(LeaseHeldError);
    expect(refused.holder).toBe('midflight/run-1@host-a:100');
    expect(refused.since?.getTime()).toBe(since.getTime());
    expect(refused.message).toContain(
      'another run holds lease kube-system/lock-a: midflight/run-1@host-a:100 since',
    );

    // Three lease durations later the background renewal has kept it.
    await sandbox.box.ctx.clock.sleep(30_000);
    const renewed = await leaseOf('lock-a');
    const renewedAt = new Date(renewed.spec?.renewTime as unknown as string).getTime();
    expect(renewedAt).toBeGreaterThan(since.getTime() + 15_000);
    await expect(acquire('lock-a', 'run-2')).rejects.toBeInstanceOf(LeaseHeldError);
    expect(first.isHeld).toBe(true);

    await first.release();
    expect(first.isHeld).toBe(false);
    expect((await leaseOf('lock-a')).spec?.holderIdentity).toBeUndefined();
    const second = await acquire('lock-a', 'run-2');
    expect(second.isHeld).toBe(true);
    expect((await leaseOf('lock-a')).spec).toMatchObject({
      holderIdentity: 'midflight/run-2@host-a:100',
      leaseTransitions: 1,
    });
  });

  it('takes over a lease left by a dead process after watching it unchanged for its duration; the old holder learns it lost it', async () => {
    const clock = sandbox.box.ctx.clock;
    const lost: string[] = [];
    // A process that stops renewing: as good as dead.
    const dead = await acquire('lock-b', 'run-dead', {
      leaseDurationSeconds: 5,
      renewIntervalMs: 3_600_000,
      onLost: (reason) => lost.push(reason),
    });

    const watchedFrom = clock.now();
    const waits: Array<[string, number]> = [];
    const taker = await acquire('lock-b', 'run-new', { onWaiting: (h, ms) => waits.push([h, ms]) });
    expect(clock.now() - watchedFrom).toBeGreaterThanOrEqual(5_000);
    // The person waiting is told once whose lease it is and for how long it may be watched.
    expect(waits).toEqual([['midflight/run-dead@host-a:100', 5_000]]);
    expect(taker.isHeld).toBe(true);
    expect((await leaseOf('lock-b')).spec?.holderIdentity).toBe('midflight/run-new@host-a:100');

    await expect(dead.renew()).rejects.toBeInstanceOf(LeaseLostError);
    expect(dead.isHeld).toBe(false);
    expect(lost).toEqual(['taken over by midflight/run-new@host-a:100']);
    // Releasing a lost lease leaves the new holder alone.
    await dead.release();
    expect((await leaseOf('lock-b')).spec?.holderIdentity).toBe('midflight/run-new@host-a:100');
  });

  it("two operators whose clocks disagree by minutes: refused while the holder renews, taken over only after it stopped for a lease duration on the taker's clock", async () => {
    const operatorA = new SkewedClock(sandbox.box.ctx.clock, -5 * 60_000);
    const operatorB = new SkewedClock(sandbox.box.ctx.clock, +5 * 60_000);
    const lost: string[] = [];
    // Note: 120 s is 2.4 s of wall time at ×50, room for many renewals (every 5 s) on a busy machine.
    const first = await acquire('lock-c', 'run-a', {
      clock: operatorA,
      leaseDurationSeconds: 120,
      renewIntervalMs: 5_000,
      onLost: (reason) => lost.push(reason),
    });

    // By B's clock, A's last renewal is ten minutes old: comparing timestamps would call it expired.
    const refused = await acquire('lock-c', 'run-b', { clock: operatorB }).catch((e) => e);
    expect(refused).toBeInstanceOf(LeaseHeldError);
    expect(refused.holder).toBe('midflight/run-a@host-a:100');
    expect(refused.message).toMatch(
      /^another run holds lease kube-system\/lock-c: midflight\/run-a@host-a:100 since \S+Z, last renewed \S+Z \(its clock\); it renewed the lease while this process watched, so it is alive$/,
    );
    expect(first.isHeld).toBe(true);
    expect((await leaseOf('lock-c')).spec?.holderIdentity).toBe('midflight/run-a@host-a:100');

    // A renews one last time, then its process hangs: it neither renews nor releases.
    await first.renew();
    operatorA.stop();
    const watchedFrom = operatorB.now();
    const second = await acquire('lock-c', 'run-b', { clock: operatorB });
    expect(operatorB.now() - watchedFrom).toBeGreaterThanOrEqual(120_000);
    expect(second.isHeld).toBe(true);
    expect((await leaseOf('lock-c')).spec).toMatchObject({
      holderIdentity: 'midflight/run-b@host-a:100',
      leaseTransitions: 1,
    });
    await expect(first.renew()).rejects.toBeInstanceOf(LeaseLostError);
    expect(lost).toEqual(['taken over by midflight/run-b@host-a:100']);
  });
});

import { hostname } from 'node:os';
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Clock, FailureClass, Timer } from '../core/index.ts';
import { apiFailureOf, isNotFound, KubeOperationError } from './api-failure.ts';
import { withRetries } from './retry.ts';

export const DEFAULT_LEASE_NAME = 'midflight-upgrade';
export const DEFAULT_LEASE_NAMESPACE = 'kube-system';
export const RUN_ID_ANNOTATION = 'midflight.dev/run-id';

export interface LeaseOptions {
  /** Who holds the lease while the run goes on; build it with leaseHolderIdentity(runId). */
  holder: string;
  /**
   * This process's time: the Lease's timestamps are written in it (for people to read) and it measures how
   * long another holder's record has gone unchanged. Never compared with timestamps another process wrote.
   */
  clock: Clock;
  /** Default DEFAULT_LEASE_NAME (`midflight-upgrade`). */
  name?: string;
  /** Default `kube-system`. */
  namespace?: string;
  /** Written on the Lease: another process may take it over once it has seen it unrenewed this long. Default 30. */
  leaseDurationSeconds?: number;
  /** Between renewals. Default a third of the duration, so two renewals may fail before it expires. */
  renewIntervalMs?: number;
  /** Stamped on the Lease (e.g. RUN_ID_ANNOTATION → run id) so `kubectl get lease -o yaml` shows the run. */
  annotations?: Record<string, string>;
  /** Called once when the lease is lost: someone else took it, or renewals failed until it expired. */
  onLost?: (reason: string) => void;
  /**
   * Called once when another holder's record is found and acquiring starts watching it, with how long
   * (clock ms) it may watch before taking over: a caller with a person waiting says why nothing happens.
   */
  onWaiting?: (holder: string, upToMs: number) => void;
}

export interface LeaseHandle {
  readonly holder: string;
  /** When this holder acquired the lease, in clock ms. */
  readonly acquiredAt: number;
  /** False once lost or released. */
  readonly isHeld: boolean;
  /** Renews now (the background renewal does this on its own); throws LeaseLostError when lost. */
  renew(): Promise<void>;
  /** Stops renewing and clears holderIdentity, so the next run need not wait for expiry. Idempotent. */
  release(): Promise<void>;
}

/**
 * Another process holds the lease and is alive: it renewed the lease while this process watched it.
 * Its timestamps are in the holder's clock, which may not agree with ours; they are shown, never compared.
 */
export class LeaseHeldError extends Error {
  /** The holder may finish or die: trying again later may succeed. */
  readonly failureClass: FailureClass = 'transient';
  constructor(
    readonly lease: string,
    readonly holder: string,
    /** acquireTime: since when it is held, in the holder's clock. */
    readonly since: Date | undefined,
    /** renewTime, in the holder's clock. */
    readonly renewedAt: Date | undefined,
  ) {
    super(
      `another run holds lease ${lease}: ${holder}` +
        (since ? ` since ${since.toISOString()}` : '') +
        (renewedAt ? `, last renewed ${renewedAt.toISOString()} (its clock)` : '') +
        '; it renewed the lease while this process watched, so it is alive',
    );
    this.name = 'LeaseHeldError';
  }
}

export class LeaseLostError extends Error {
  readonly failureClass: FailureClass = 'permanent';
  constructor(
    readonly lease: string,
    readonly reason: string,
  ) {
    super(`lost lease ${lease}: ${reason}`);
    this.name = 'LeaseLostError';
  }
}

/** `midflight/<runId>@<host>:<pid>`: names the run and the process, so a stale holder can be found. */
export function leaseHolderIdentity(runId: string, host = hostname(), pid = process.pid): string {
  return `midflight/${runId}@${host}:${pid}`;
}

/** The parts of a leaseHolderIdentity; undefined for an identity in another form (given with --holder). */
export function parseHolderIdentity(
  identity: string,
): { runId: string; host: string; pid: number } | undefined {
  const m = /^midflight\/(.+)@(.+):(\d+)$/.exec(identity);
  return m ? { runId: m[1]!, host: m[2]!, pid: Number(m[3]) } : undefined;
}

/**
 * Takes the cluster-wide lock of an upgrade run: creates the Lease, or takes it over when it is free
 * (released) or expired; otherwise throws LeaseHeldError. The handle renews it in the background with
 * optimistic concurrency (resourceVersion).
 *
 * IMPORTANT: expiry is judged as client-go's leader election judges it, never by comparing the holder's
 * renewTime with our clock: two machines' clocks may disagree by more than a lease duration. A lease held
 * by another is expired only once this process has seen its record unchanged (resourceVersion, holder,
 * renewTime) for the record's leaseDurationSeconds, measured on this process's own clock from the moment
 * it first saw that record. So acquiring a held lease waits: until the record changes (its holder is
 * alive: LeaseHeldError, usually within one renewal interval) or until that duration has passed unchanged
 * (its holder is gone: taken over).
 */
export async function acquireLease(kc: KubeConfig, options: LeaseOptions): Promise<LeaseHandle> {
  const lock = new LeaseLock(kc, options);
  await lock.acquire();
  return lock;
}

class LeaseLock implements LeaseHandle {
  readonly holder: string;
  acquiredAt = 0;
  private readonly api: CoordinationV1Api;
  private readonly name: string;
  private readonly namespace: string;
  private readonly durationMs: number;
  private readonly renewIntervalMs: number;
  private readonly clock: Clock;
  private current: V1Lease | undefined;
  private lastRenewedAt = 0;
  private timer: Timer | undefined;
  private state: 'new' | 'held' | 'lost' | 'released' = 'new';
  private renewing: Promise<void> | undefined;

  constructor(
    kc: KubeConfig,
    private readonly options: LeaseOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.holder = options.holder;
    this.clock = options.clock;
    this.name = options.name ?? DEFAULT_LEASE_NAME;
    this.namespace = options.namespace ?? DEFAULT_LEASE_NAMESPACE;
    const seconds = options.leaseDurationSeconds ?? 30;
    this.durationMs = seconds * 1000;
    this.renewIntervalMs = options.renewIntervalMs ?? this.durationMs / 3;
  }

  get isHeld(): boolean {
    return this.state === 'held';
  }

  private get ref(): string {
    return `${this.namespace}/${this.name}`;
  }

  async acquire(): Promise<void> {
    // What this process has seen of another holder's record, and when by its own clock.
    let watched: { record: string; since: number } | undefined;
    let writes = 0;
    for (;;) {
      const existing = await this.read();
      const now = this.clock.now();
      const spec = existing?.spec ?? {};
      const heldBy = spec.holderIdentity ?? '';
      if (existing && heldBy && heldBy !== this.holder) {
        const record = recordOf(existing);
        if (watched && watched.record !== record) {
          throw new LeaseHeldError(this.ref, heldBy, dateOf(spec.acquireTime), dateOf(spec.renewTime));
        }
        const durationMs = (spec.leaseDurationSeconds || this.durationMs / 1000) * 1000;
        if (!watched) {
          watched = { record, since: now };
          this.options.onWaiting?.(heldBy, durationMs);
        }
        const unchangedFor = now - watched.since;
        if (unchangedFor < durationMs) {
          await this.clock.sleep(Math.min(this.watchPeriodMs(durationMs), durationMs - unchangedFor));
          continue;
        }
      }
      try {
        if (!existing) {
          this.current = await this.api.createNamespacedLease({
            namespace: this.namespace,
            body: this.leaseBody(undefined, now, now),
          });
        } else {
          const acquiredAt = heldBy === this.holder ? (dateOf(spec.acquireTime)?.getTime() ?? now) : now;
          // The resourceVersion read above makes this a compare-and-swap: a renewal that lands first wins.
          this.current = await this.api.replaceNamespacedLease({
            name: this.name,
            namespace: this.namespace,
            body: this.leaseBody(existing, acquiredAt, now),
          });
        }
      } catch (err) {
        if (++writes >= 5) {
          if (apiFailureOf(err).code === 409)
            throw new LeaseLostError(this.ref, 'could not acquire it: it kept changing under us');
          throw new KubeOperationError(`acquire lease ${this.ref}`, err);
        }
        const { code } = apiFailureOf(err);
        // A 409: another process wrote first; the next read shows who.
        if (code === 409) continue;
        if (code === undefined || code === 429 || code >= 500) {
          await this.clock.sleep(200 * writes);
          continue;
        }
        throw new KubeOperationError(`acquire lease ${this.ref}`, err);
      }
      this.acquiredAt = dateOf(this.current?.spec?.acquireTime)?.getTime() ?? now;
      this.lastRenewedAt = now;
      this.state = 'held';
      this.schedule(this.renewIntervalMs);
      return;
    }
  }

  /**
   * How often another holder's record is read while it is watched: every 2 s of wall time, client-go's
   * default retry period, so a renewal is seen soon after it lands; at least ten times per duration for
   * short leases. Note: 2 s of wall time is `2_000 * scale` of a scaled clock's time.
   */
  private watchPeriodMs(durationMs: number): number {
    return Math.min(durationMs / 10, 2_000 * Math.max(1, this.clock.scale));
  }

  renew(): Promise<void> {
    if (this.state !== 'held') return Promise.reject(new LeaseLostError(this.ref, `lease is ${this.state}`));
    // Note: renewals are serialised so a manual renew and the background one never race on resourceVersion.
    this.renewing ??= this.renewOnce().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  async release(): Promise<void> {
    this.timer?.cancel();
    await this.renewing?.catch(() => {});
    if (this.state !== 'held') {
      if (this.state === 'new') this.state = 'released';
      return;
    }
    this.state = 'released';
    for (let attempt = 0; attempt < 5; attempt++) {
      const lease = attempt === 0 ? this.current : await this.read();
      if (!lease || lease.spec?.holderIdentity !== this.holder) return;
      const body: V1Lease = {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: undefined,
          acquireTime: undefined,
          renewTime: new V1MicroTime(this.clock.now()),
        },
      };
      try {
        await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body });
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (attempt === 4) throw new KubeOperationError(`release lease ${this.ref}`, err);
        if (apiFailureOf(err).code !== 409) await this.clock.sleep(200 * (attempt + 1));
      }
    }
  }

  private async renewOnce(): Promise<void> {
    const lease = this.current;
    if (!lease) throw new LeaseLostError(this.ref, 'never acquired');
    const now = this.clock.now();
    try {
      this.current = await this.api.replaceNamespacedLease({
        name: this.name,
        namespace: this.namespace,
        body: { ...lease, spec: { ...lease.spec, renewTime: new V1MicroTime(now) } },
      });
      this.lastRenewedAt = now;
      return;
    } catch (err) {
      const failure = apiFailureOf(err);
      if (failure.code === 409 || failure.code === 404) {
        // Someone wrote the Lease: if it is still ours (our last write's answer was lost), carry on from it.
        const latest = await this.read().catch(() => undefined);
        if (latest?.spec?.holderIdentity === this.holder) {
          this.current = latest;
          return this.renewOnce();
        }
        const by = latest?.spec?.holderIdentity;
        throw this.lose(latest ? `taken over by ${by || 'nobody (released)'}` : 'the Lease was deleted');
      }
      if (now - this.lastRenewedAt >= this.durationMs) {
        throw this.lose(`renewals failed for ${this.durationMs / 1000}s: ${failure.message}`);
      }
      throw new KubeOperationError(`renew lease ${this.ref}`, err);
    }
  }

  private schedule(ms: number): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimer(ms, () => {
      if (this.state !== 'held') return;
      this.renew().then(
        () => this.schedule(this.renewIntervalMs),
        // A transient failure: try again sooner, while the lease is still ours.
        () => this.state === 'held' && this.schedule(Math.min(this.renewIntervalMs, 1_000)),
      );
    });
  }

  private lose(reason: string): LeaseLostError {
    if (this.state === 'held') {
      this.state = 'lost';
      this.timer?.cancel();
      this.options.onLost?.(reason);
    }
    return new LeaseLostError(this.ref, reason);
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await withRetries(this.clock, `read lease ${this.ref}`, () =>
        this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private leaseBody(existing: V1Lease | undefined, acquiredAt: number, now: number): V1Lease {
    const previousHolder = existing?.spec?.holderIdentity;
    const transitions = existing?.spec?.leaseTransitions ?? 0;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        ...(existing?.metadata ?? {}),
        name: this.name,
        namespace: this.namespace,
        annotations: { ...(existing?.metadata?.annotations ?? {}), ...(this.options.annotations ?? {}) },
      },
      spec: {
        holderIdentity: this.holder,
        leaseDurationSeconds: this.durationMs / 1000,
        acquireTime: new V1MicroTime(acquiredAt),
        renewTime: new V1MicroTime(now),
        // As client-go's leader election counts them: every change of holder, a released lease's included.
        leaseTransitions: existing && previousHolder !== this.holder ? transitions + 1 : transitions,
      },
    };
  }
}

/** What identifies one write of the record: any renewal or change of holder gives another. */
function recordOf(lease: V1Lease): string {
  const spec = lease.spec ?? {};
  return JSON.stringify([
    lease.metadata?.resourceVersion,
    spec.holderIdentity,
    dateOf(spec.renewTime)?.toISOString(),
    dateOf(spec.acquireTime)?.toISOString(),
    spec.leaseDurationSeconds,
  ]);
}

/** client-node hands MicroTime fields back as strings or Dates depending on the path; accept both. */
function dateOf(value: unknown): Date | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const date = new Date(value as string);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * What watches one execution of a run from outside the cluster's own objects: the Alertmanager silences
 * around each node (silences.ts), the notifications (notifications.ts) and the Kubernetes Events that say
 * what the run did, each labelled with the run id. The engine calls it at a handful of points; nothing it
 * does can stop or fail the run: every failure becomes a warning in the run's log.
 */
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { type Clock, parseDuration, RealClock } from '../core/index.ts';
import { type EventSpec, recordEvent } from '../kube/index.ts';
import { Notifier, type NotifyEndpoint, type RunNotice } from './notifications.ts';
import type { AlertsPolicy, NotifyOn } from './observe-policy.ts';
import { StepSilencer } from './silences.ts';

export interface RunObserver {
  /** After the run is marked running: says what the policy's secrets lacked; on resume, expires the silences a crashed process of the run left. */
  runStarting(how: { resumed: boolean }): Promise<void>;
  /** Before anything touches `node` in step `stepId` (before its cordon): its silences. */
  nodeStarting(stepId: string, node: string): Promise<void>;
  /** Once `node` is back in service, or its step ended any other way: its silences expire. */
  nodeSettled(stepId: string, node: string): Promise<void>;
  /** Every event of the run (the engine's RunEvent), synchronously; sends in the background. */
  onEvent(event: object): void;
  /** When the execution ends: every silence it made expires. */
  releaseAll(): Promise<void>;
  /** Waits for the notifications and Events in flight. */
  flush(): Promise<void>;
}

export interface RunObserverOptions {
  alerts?: AlertsPolicy;
  runId: string;
  plan: { id: string; source: string; target: string; cluster: { server: string } };
  /** The run's clock (times in notices and Events). */
  clock: Clock;
  /** Alertmanager's time for silences: wall time (see StepSilencer). Default RealClock. */
  wallClock?: Clock;
  kc: KubeConfig;
  /**
   * The step id of a rollback's nodes: their first change is the rollback's start, whether a person asked for
   * it (`midflight rollback`) or a health gate turned the upgrade into it.
   */
  rollbackStep: string;
  /** The key of the run-id label on Events (the engine's annotation key). */
  runIdKey: string;
  /** Where the Lease that holds the cluster for the run is: the run's own Events are about it. */
  lease: { name: string; namespace: string };
  log(level: 'info' | 'warn', message: string, where?: { stepId?: string; node?: string }): void;
  /** Default process.env. */
  env?: Record<string, string | undefined>;
}

/** The engine's events this reads (a structural subset: observe does not import the engine). */
interface SeenEvent {
  type: string;
  time: number;
  stepId?: string;
  node?: string;
  status?: string;
  activity?: string;
  message?: string;
  mode?: string;
  resumed?: boolean;
  state?: string;
  reason?: string;
  gate?: string;
  verdict?: string;
  value?: number;
  baseline?: number;
  query?: string;
  error?: string;
  evaluation?: Partial<SeenEvent>;
  summary?: { nodes?: { upgraded?: string[]; failed?: unknown[]; rolledBack?: string[] } };
}

/** Wall ms the end of a run waits for its Events to be written. */
const EVENTS_FLUSH_MS = 5_000;

export function observeRun(opts: RunObserverOptions): RunObserver {
  return new PolicyRunObserver(opts);
}

class PolicyRunObserver implements RunObserver {
  private readonly problems: string[] = [];
  private readonly silencer?: StepSilencer;
  private readonly notifier: Notifier;
  private readonly writes = new Set<Promise<unknown>>();
  /** Gates whose last evaluation failed: one notice per failure streak, not one per evaluation. */
  private readonly failingGates = new Set<string>();
  private mode = 'upgrade';

  constructor(private readonly opts: RunObserverOptions) {
    const alerts = opts.alerts;
    const am = alerts?.alertmanager;
    const silence = alerts?.silence;
    if (am && silence) {
      const token = am.bearerTokenFile
        ? this.secretFile(am.bearerTokenFile, 'alerts.alertmanager.bearerTokenFile')
        : undefined;
      if (!am.bearerTokenFile || token !== undefined)
        this.silencer = new StepSilencer({
          url: am.url,
          matchers: silence.matchers,
          alertnames: silence.alertnames,
          runId: opts.runId,
          clock: opts.wallClock ?? new RealClock(),
          durationMs: parseDuration(silence.duration),
          bearerToken: token,
          timeoutMs: parseDuration(am.timeout),
        });
      else this.problems.push(`no Alertmanager silences are made for this run: its alerts may fire`);
    }
    const endpoints: NotifyEndpoint[] = [];
    (alerts?.notify ?? []).forEach((target, i) => {
      const field = `alerts.notify[${i}]`;
      const url = target.urlFile
        ? this.secretFile(target.urlFile, `${field}.urlFile`)
        : this.secretEnv(target.urlEnv!, `${field}.urlEnv`);
      if (url === undefined) this.problems.push(`${field} (${target.kind}): its notifications are not sent`);
      else
        endpoints.push({ kind: target.kind, url, on: target.on, timeoutMs: parseDuration(target.timeout) });
    });
    this.notifier = new Notifier(endpoints, (message) => opts.log('warn', message));
  }

  async runStarting(how: { resumed: boolean }): Promise<void> {
    for (const problem of this.problems) this.opts.log('warn', problem);
    if (!how.resumed || !this.silencer) return;
    try {
      const expired = await this.silencer.cleanupRun(this.opts.runId);
      if (expired > 0)
        this.opts.log(
          'info',
          `expired ${expired} Alertmanager silence(s) an earlier process of this run left`,
        );
    } catch (err) {
      this.opts.log(
        'warn',
        `could not look for silences an earlier process of this run left: ${(err as Error).message}`,
      );
    }
  }

  async nodeStarting(stepId: string, node: string): Promise<void> {
    this.record(
      { kind: 'Node', name: node },
      'UpgradeStarted',
      `midflight run ${this.opts.runId} step ${stepId}: ${this.mode === 'rollback' ? `rolling ${node} back` : `upgrading ${node} to ${this.opts.plan.target}`}`,
    );
    if (!this.silencer) return;
    try {
      await this.silencer.silence(silenceKey(stepId, node), [node]);
    } catch (err) {
      this.opts.log(
        'warn',
        `could not silence the alerts of ${node}: ${(err as Error).message}; the upgrade goes on and its alerts may fire`,
        { stepId, node },
      );
    }
  }

  async nodeSettled(stepId: string, node: string): Promise<void> {
    if (!this.silencer) return;
    try {
      await this.silencer.release(silenceKey(stepId, node));
    } catch (err) {
      this.opts.log(
        'warn',
        `could not expire the silences of ${node}: ${(err as Error).message}; they end by themselves after ${this.opts.alerts?.silence?.duration}`,
        { stepId, node },
      );
    }
  }

  onEvent(raw: object): void {
    const e = raw as SeenEvent;
    switch (e.type) {
      case 'run-started':
        this.mode = e.mode ?? 'upgrade';
        this.notify(e, this.mode === 'rollback' ? 'rollback' : 'started', this.startTitle(e));
        this.recordRun(
          'RunStarted',
          `midflight run ${this.opts.runId} ${e.resumed ? 'resumed' : 'started'}: ${this.opts.plan.source} → ${this.opts.plan.target}${this.mode === 'rollback' ? ' (rollback)' : ''}`,
        );
        break;
      case 'node-changed':
        if (e.stepId === this.opts.rollbackStep && this.mode !== 'rollback') {
          this.mode = 'rollback';
          this.notify(e, 'rollback', `${this.what()} started on ${this.opts.plan.cluster.server}`);
        }
        this.nodeChanged(e);
        break;
      case 'gate-evaluated':
        this.gateEvaluated(e);
        break;
      case 'run-finished': {
        const on: NotifyOn = e.state === 'paused' ? 'paused' : 'finished';
        const nodes = e.summary?.nodes;
        this.notify(e, on, `${this.what()} ${e.state} on ${this.opts.plan.cluster.server}`, {
          state: e.state,
          reason: e.reason,
          details: nodes
            ? {
                upgraded: nodes.upgraded?.length ?? 0,
                failed: nodes.failed?.length ?? 0,
                ...(this.mode === 'rollback' ? { rolledBack: nodes.rolledBack?.length ?? 0 } : {}),
              }
            : undefined,
        });
        this.recordRun(
          'RunFinished',
          `midflight run ${this.opts.runId} ${e.state}${e.reason ? `: ${e.reason}` : ''}`,
          e.state === 'succeeded' || e.state === 'rolled-back' || e.state === 'paused' ? 'Normal' : 'Warning',
        );
        break;
      }
    }
  }

  async releaseAll(): Promise<void> {
    if (!this.silencer) return;
    try {
      await this.silencer.releaseAll();
    } catch (err) {
      this.opts.log(
        'warn',
        `could not expire the run's silences: ${(err as Error).message}; \`midflight resume\` expires them, or they end by themselves after ${this.opts.alerts?.silence?.duration}`,
      );
    }
  }

  async flush(): Promise<void> {
    await this.notifier.flush();
    // Note: Events are best effort: an API server that stopped answering (their writes retry for up to ~20 s)
    // holds the command's exit for a few seconds of wall time at most.
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, EVENTS_FLUSH_MS);
    });
    const written = (async () => {
      while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
    })();
    await Promise.race([written, giveUp]);
    clearTimeout(timer);
  }

  private nodeChanged(e: SeenEvent): void {
    const node = e.node!;
    const where = `midflight run ${this.opts.runId} step ${e.stepId}`;
    if (e.status === 'done' && e.activity === 'done')
      this.record(
        { kind: 'Node', name: node },
        this.mode === 'rollback' ? 'RolledBack' : 'Upgraded',
        `${where}: ${node} is back in service`,
      );
    else if (e.status === 'failed')
      this.record(
        { kind: 'Node', name: node },
        'UpgradeFailed',
        `${where}: ${e.message ?? 'failed'}`,
        'Warning',
      );
    else if (e.status === 'quarantined')
      this.record(
        { kind: 'Node', name: node },
        'Quarantined',
        `${where}: ${e.message ?? 'quarantined'}`,
        'Warning',
      );
  }

  private gateEvaluated(event: SeenEvent): void {
    // The evaluation's fields, on the event itself or as its `evaluation` (gates/gate-types.ts GateEvaluation).
    const e: SeenEvent = { ...event, ...event.evaluation };
    const gate = e.gate ?? '(unnamed)';
    if (e.verdict !== 'failure') {
      if (e.verdict === 'success') this.failingGates.delete(gate);
      return;
    }
    if (this.failingGates.has(gate)) return;
    this.failingGates.add(gate);
    const details: Record<string, string | number> = { gate };
    if (e.value !== undefined) details.value = e.value;
    if (e.baseline !== undefined) details.baseline = e.baseline;
    if (e.query) details.query = e.query;
    if (e.error) details.error = e.error;
    this.notify(
      e,
      'gate-failed',
      `gate ${gate} failed during ${this.what()} on ${this.opts.plan.cluster.server}`,
      {
        details,
      },
    );
  }

  private startTitle(e: SeenEvent): string {
    const verb = e.resumed ? 'resumed' : 'started';
    return `${this.what()} ${verb} on ${this.opts.plan.cluster.server}: ${this.opts.plan.source} → ${this.opts.plan.target}`;
  }

  private what(): string {
    return this.mode === 'rollback' ? `rollback of run ${this.opts.runId}` : `upgrade run ${this.opts.runId}`;
  }

  private notify(e: SeenEvent, on: NotifyOn, title: string, extra: Partial<RunNotice> = {}): void {
    const { plan, runId } = this.opts;
    this.notifier.send({
      on,
      runId,
      time: e.time,
      cluster: plan.cluster.server,
      planId: plan.id,
      source: plan.source,
      target: plan.target,
      title,
      ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
    });
  }

  private recordRun(reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): void {
    const { name, namespace } = this.opts.lease;
    this.record(
      { kind: 'Lease', name, namespace, apiVersion: 'coordination.k8s.io/v1' },
      reason,
      message,
      type,
    );
  }

  /** An Event labelled with the run id, best effort: an Event that cannot be written is not worth a stop. */
  private record(
    involvedObject: EventSpec['involvedObject'],
    reason: string,
    message: string,
    type: 'Normal' | 'Warning' = 'Normal',
  ): void {
    // Note: wrapped so that a synchronous throw (a kubeconfig without a cluster) is a rejection like the rest.
    const p = Promise.resolve()
      .then(() =>
        recordEvent(
          this.opts.kc,
          {
            involvedObject,
            reason,
            message: message.slice(0, 1000),
            type,
            labels: { [this.opts.runIdKey]: this.opts.runId },
          },
          { clock: this.opts.clock },
        ),
      )
      .catch(() => {})
      .finally(() => this.writes.delete(p));
    this.writes.add(p);
  }

  private secretFile(path: string, field: string): string | undefined {
    try {
      const value = readFileSync(path, 'utf8').trim();
      if (value !== '') return value;
      this.problems.push(`${field}: ${path} is empty`);
    } catch (err) {
      this.problems.push(`${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return undefined;
  }

  private secretEnv(name: string, field: string): string | undefined {
    const value = (this.opts.env ?? process.env)[name]?.trim();
    if (value) return value;
    this.problems.push(`${field}: the environment variable ${name} is not set`);
    return undefined;
  }
}

/** One node's silences within its step: nodes of one wave flow independently. */
function silenceKey(stepId: string, node: string): string {
  return `${stepId}/${node}`;
}

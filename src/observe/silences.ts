/**
 * Quiet on purpose: for each node a run upgrades, Alertmanager silences scoped to that node and to the
 * alerts its upgrade sets off, created before the node is cordoned and expired once it is back in service
 * (or its step failed). Each silence says who made it and for what: createdBy `midflight`, and a comment
 * `midflight run <runId>, step <key>: …`, so the silences a crashed run left are found and expired when it
 * resumes (cleanupRun), and a person reading Alertmanager knows whom to ask.
 *
 * Never a blanket silence: every matcher set must name the node and the alerts (silence-matchers.ts); the
 * constructor refuses any other.
 */
import type { Clock } from '../core/index.ts';
import { AlertmanagerClient } from './alertmanager-client.ts';
import { silenceSetProblem } from './observe-policy.ts';
import {
  type AlertmanagerMatcher,
  alertnameMatcher,
  DEFAULT_SILENCED_ALERTS,
  matchersForNode,
  parseMatcher,
} from './silence-matchers.ts';

export const SILENCE_CREATED_BY = 'midflight';

export class BlanketSilenceError extends Error {
  constructor(
    readonly set: readonly string[],
    reason: string,
  ) {
    super(`silence matchers [${set.join(', ')}]: ${reason}`);
    this.name = 'BlanketSilenceError';
  }
}

export interface StepSilencerOptions {
  /** Alertmanager's base URL. */
  url: string;
  /** Matcher sets, each one silence per node; `{node}` is the node's name (see silence-matchers.ts). */
  matchers: readonly (readonly string[])[];
  /** Added to every set as `alertname=~"…"`; default kubernetes-mixin's node and workload alerts. */
  alertnames?: readonly string[];
  runId: string;
  /**
   * The time Alertmanager keeps: wall time. IMPORTANT: not a sandbox's scaled clock, which runs ahead:
   * a silence starting in Alertmanager's future is pending, not active.
   */
  clock: Clock;
  /** How long a silence lasts unless expired first (a crashed run's end by themselves). Default 2 h. */
  durationMs?: number;
  bearerToken?: string;
  /** Wall-clock ms per request. Default 10 s. */
  timeoutMs?: number;
}

/** Silences per step key (the engine uses `<step>/<node>`), expired together. */
export class StepSilencer {
  private readonly client: AlertmanagerClient;
  private readonly sets: AlertmanagerMatcher[][];
  private readonly active = new Map<string, string[]>();

  constructor(private readonly opts: StepSilencerOptions) {
    const alertnames = opts.alertnames ?? DEFAULT_SILENCED_ALERTS;
    if (opts.matchers.length === 0)
      throw new BlanketSilenceError([], 'no matcher set: nothing says which node or alerts to silence');
    this.sets = opts.matchers.map((set) => {
      const problem = silenceSetProblem(set, alertnames);
      if (problem) throw new BlanketSilenceError(set, problem);
      const parsed = set.map(parseMatcher);
      return alertnames.length > 0 ? [...parsed, alertnameMatcher(alertnames)] : parsed;
    });
    this.client = new AlertmanagerClient({
      url: opts.url,
      bearerToken: opts.bearerToken,
      timeoutMs: opts.timeoutMs ?? 10_000,
    });
  }

  /**
   * Creates the silences of `stepKey` for `nodes` (one per matcher set and node). Silencing a key again
   * first expires what it had. Throws AlertmanagerError; the silences made before the failure are kept
   * under the key, so release() still expires them.
   */
  async silence(stepKey: string, nodes: readonly string[]): Promise<string[]> {
    await this.release(stepKey);
    const now = this.opts.clock.now();
    const ids: string[] = [];
    this.active.set(stepKey, ids);
    for (const node of nodes)
      for (const set of this.sets)
        ids.push(
          await this.client.createSilence({
            matchers: matchersForNode(set, node),
            startsAt: new Date(now).toISOString(),
            endsAt: new Date(now + (this.opts.durationMs ?? 2 * 3_600_000)).toISOString(),
            createdBy: SILENCE_CREATED_BY,
            comment: `${runPrefix(this.opts.runId)} step ${stepKey}: ${node} is being upgraded on purpose; expired when its step ends`,
          }),
        );
    return ids;
  }

  /** Expires the silences of `stepKey` (none: nothing to do). */
  async release(stepKey: string): Promise<void> {
    const ids = this.active.get(stepKey);
    if (!ids) return;
    while (ids.length > 0) {
      await this.client.expireSilence(ids[0]!);
      ids.shift();
    }
    this.active.delete(stepKey);
  }

  /** Expires every silence this silencer made and has not expired yet. */
  async releaseAll(): Promise<void> {
    for (const key of [...this.active.keys()]) await this.release(key);
  }

  /**
   * Expires every silence of run `runId` still in force, whoever made it (a process of the run that
   * crashed). Returns how many. IMPORTANT: only for a run this process holds the lease of.
   */
  async cleanupRun(runId: string): Promise<number> {
    const prefix = `${runPrefix(runId)} `;
    const left = (await this.client.listSilences()).filter(
      (s) =>
        s.createdBy === SILENCE_CREATED_BY && s.comment.startsWith(prefix) && s.status.state !== 'expired',
    );
    for (const s of left) await this.client.expireSilence(s.id);
    return left.length;
  }
}

/** `midflight run <runId>,`: what every comment of the run's silences starts with. */
function runPrefix(runId: string): string {
  return `midflight run ${runId},`;
}

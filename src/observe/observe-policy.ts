/**
 * `policy.alerts`: the Alertmanager that gets a silence for each node a run upgrades, the matchers of those
 * silences, and where the run's notifications go. Checked with every other policy field (the plan layer
 * calls validateAlerts); nothing here does I/O: secrets are read when a run starts (run-observer.ts).
 *
 *   alerts:
 *     alertmanager: { url: http://alertmanager.monitoring:9093, bearerTokenFile: /run/secrets/am-token }
 *     silence:
 *       matchers: [['node="{node}"'], ['instance=~"{node}(:[0-9]+)?"']]   # one silence per set and node
 *       alertnames: [KubeNodeNotReady, KubePodNotReady]                    # added to every set
 *       duration: 2h
 *     notify:
 *       - { kind: slack, urlEnv: SLACK_WEBHOOK_URL }
 *       - { kind: webhook, urlFile: /run/secrets/hook-url, on: [gate-failed, paused, rollback] }
 */
import { parseDuration } from '../core/index.ts';
import {
  alertnameMatcher,
  blanketReason,
  DEFAULT_NODE_MATCHER_SETS,
  DEFAULT_SILENCED_ALERTS,
  MatcherSyntaxError,
  parseMatcher,
} from './silence-matchers.ts';

export const NOTIFY_KINDS = ['webhook', 'slack'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

/** The moments a notification is sent. */
export const NOTIFY_ON = ['started', 'gate-failed', 'paused', 'rollback', 'finished'] as const;
export type NotifyOn = (typeof NOTIFY_ON)[number];

export interface AlertmanagerSettings {
  /** The Alertmanager's base URL (the v2 API is under /api/v2). */
  url: string;
  /** A file holding a bearer token sent to Alertmanager (read when the run starts). */
  bearerTokenFile?: string;
  /** How long one request may take (wall time). */
  timeout: string;
}

export interface SilencePolicy {
  /** Sets of matchers, each a silence per node; `{node}` is the node's name. */
  matchers: string[][];
  /** Added to every set as `alertname=~"A|B|…"`. */
  alertnames: string[];
  /** How long a silence lasts if the run never expires it (it crashed and was never resumed). */
  duration: string;
}

export interface NotifyTarget {
  kind: NotifyKind;
  /** Exactly one of urlFile / urlEnv: a webhook URL is a secret, and the policy is copied into the plan. */
  urlFile?: string;
  urlEnv?: string;
  on: NotifyOn[];
  timeout: string;
}

export interface AlertsPolicy {
  alertmanager?: AlertmanagerSettings;
  /** With alertmanager only (defaults filled in). */
  silence?: SilencePolicy;
  notify: NotifyTarget[];
}

export type AlertsFail = (field: string, message: string) => void;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function defaultSilencePolicy(): SilencePolicy {
  return {
    matchers: DEFAULT_NODE_MATCHER_SETS.map((set) => [...set]),
    alertnames: [...DEFAULT_SILENCED_ALERTS],
    duration: '2h',
  };
}

/**
 * Checks `raw` (the policy's `alerts`, at field path `at`) and fills the defaults; each problem goes to
 * `fail` with its field. Returns undefined when `raw` is absent.
 */
export function validateAlerts(raw: unknown, at: string, fail: AlertsFail): AlertsPolicy | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObj(raw)) {
    fail(at, 'must be a mapping with alertmanager, silence and/or notify');
    return undefined;
  }
  unknownKeys(raw, ['alertmanager', 'silence', 'notify'], at, fail);
  const alerts: AlertsPolicy = { notify: [] };
  if (raw.alertmanager !== undefined) {
    alerts.alertmanager = alertmanagerOf(raw.alertmanager, `${at}.alertmanager`, fail);
    alerts.silence = defaultSilencePolicy();
  }
  if (raw.silence !== undefined && raw.silence !== null) {
    if (raw.alertmanager === undefined)
      fail(`${at}.silence`, 'needs alerts.alertmanager: the Alertmanager the silences are made in');
    else alerts.silence = silenceOf(raw.silence, `${at}.silence`, fail);
  }
  if (raw.notify !== undefined) {
    if (!Array.isArray(raw.notify)) fail(`${at}.notify`, 'must be a list of webhooks');
    else alerts.notify = raw.notify.map((n, i) => notifyOf(n, `${at}.notify[${i}]`, fail));
  }
  return alerts;
}

function alertmanagerOf(raw: unknown, at: string, fail: AlertsFail): AlertmanagerSettings | undefined {
  if (!isObj(raw)) {
    fail(at, 'must be a mapping with at least url');
    return undefined;
  }
  unknownKeys(raw, ['url', 'bearerTokenFile', 'timeout'], at, fail);
  const url = httpUrl(raw.url, `${at}.url`, fail);
  if (raw.url === undefined)
    fail(`${at}.url`, 'is required: the Alertmanager, e.g. http://alertmanager:9093');
  const settings: AlertmanagerSettings = {
    url: url ?? '',
    timeout: duration(raw.timeout, `${at}.timeout`, fail) ?? '10s',
  };
  if (raw.bearerTokenFile !== undefined) {
    if (typeof raw.bearerTokenFile !== 'string' || raw.bearerTokenFile === '')
      fail(`${at}.bearerTokenFile`, 'must be the path of a file holding the token');
    else settings.bearerTokenFile = raw.bearerTokenFile;
  }
  return settings;
}

function silenceOf(raw: unknown, at: string, fail: AlertsFail): SilencePolicy {
  const silence = defaultSilencePolicy();
  if (!isObj(raw)) {
    fail(at, 'must be a mapping with matchers, alertnames and/or duration');
    return silence;
  }
  unknownKeys(raw, ['matchers', 'alertnames', 'duration'], at, fail);
  if (raw.alertnames !== undefined) {
    if (
      !Array.isArray(raw.alertnames) ||
      raw.alertnames.some((a) => typeof a !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(a))
    )
      fail(`${at}.alertnames`, 'must be a list of alert names such as KubeNodeNotReady');
    else silence.alertnames = raw.alertnames as string[];
  }
  if (raw.matchers !== undefined) {
    if (!Array.isArray(raw.matchers) || raw.matchers.length === 0)
      fail(`${at}.matchers`, 'must be a non-empty list of matcher sets, e.g. [[\'node="{node}"\']]');
    else {
      const sets: string[][] = [];
      raw.matchers.forEach((set, i) => {
        // A single string is a set of one matcher.
        const list = typeof set === 'string' ? [set] : set;
        if (!Array.isArray(list) || list.length === 0 || list.some((m) => typeof m !== 'string'))
          fail(`${at}.matchers[${i}]`, 'must be a matcher such as node="{node}", or a list of them');
        else sets.push(list as string[]);
      });
      silence.matchers = sets;
    }
  }
  silence.matchers.forEach((set, i) => {
    const field = raw.matchers === undefined ? `${at}.alertnames` : `${at}.matchers[${i}]`;
    const problem = silenceSetProblem(set, silence.alertnames);
    if (problem) fail(field, problem);
  });
  silence.duration = duration(raw.duration, `${at}.duration`, fail) ?? silence.duration;
  return silence;
}

/** What is wrong with one matcher set (with the alertnames added), or undefined: used by the silencer too. */
export function silenceSetProblem(set: readonly string[], alertnames: readonly string[]): string | undefined {
  try {
    const parsed = set.map(parseMatcher);
    if (alertnames.length > 0) parsed.push(alertnameMatcher(alertnames));
    const blanket = blanketReason(parsed);
    return blanket ? `refused, a blanket silence: ${blanket}` : undefined;
  } catch (err) {
    if (err instanceof MatcherSyntaxError) return err.message;
    throw err;
  }
}

function notifyOf(raw: unknown, at: string, fail: AlertsFail): NotifyTarget {
  const target: NotifyTarget = { kind: 'webhook', on: [...NOTIFY_ON], timeout: '10s' };
  if (!isObj(raw)) {
    fail(at, 'must be a mapping with kind and urlFile or urlEnv');
    return target;
  }
  unknownKeys(raw, ['kind', 'url', 'urlFile', 'urlEnv', 'on', 'timeout'], at, fail);
  if (raw.kind === undefined || !(NOTIFY_KINDS as readonly unknown[]).includes(raw.kind))
    fail(`${at}.kind`, `must be one of: ${NOTIFY_KINDS.join(', ')}`);
  else target.kind = raw.kind as NotifyKind;
  if (raw.url !== undefined)
    fail(
      `${at}.url`,
      'a webhook URL is a secret and the policy is copied into every plan: put it in a file (urlFile) or an environment variable (urlEnv)',
    );
  const sources = (['urlFile', 'urlEnv'] as const).filter((k) => raw[k] !== undefined);
  if (sources.length !== 1 && raw.url === undefined)
    fail(
      at,
      'needs exactly one of urlFile (a file holding the webhook URL) or urlEnv (an environment variable)',
    );
  for (const k of sources) {
    if (typeof raw[k] !== 'string' || raw[k] === '') fail(`${at}.${k}`, 'must be a non-empty string');
    else target[k] = raw[k] as string;
  }
  if (raw.on !== undefined) {
    if (!Array.isArray(raw.on) || raw.on.some((o) => !(NOTIFY_ON as readonly unknown[]).includes(o)))
      fail(`${at}.on`, `must be a list of: ${NOTIFY_ON.join(', ')}`);
    else target.on = raw.on as NotifyOn[];
  }
  target.timeout = duration(raw.timeout, `${at}.timeout`, fail) ?? target.timeout;
  return target;
}

function httpUrl(v: unknown, field: string, fail: AlertsFail): string | undefined {
  if (v === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = typeof v === 'string' ? new URL(v) : undefined;
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    fail(field, 'must be an http:// or https:// URL');
    return undefined;
  }
  if (url.username || url.password) {
    fail(field, 'must not hold credentials (they would be copied into the plan): use bearerTokenFile');
    return undefined;
  }
  return String(v).replace(/\/+$/, '');
}

function duration(v: unknown, field: string, fail: AlertsFail): string | undefined {
  if (v === undefined) return undefined;
  try {
    if (typeof v !== 'string' && typeof v !== 'number') throw new Error('not a duration');
    parseDuration(v);
    return String(v);
  } catch {
    fail(field, 'must be a duration such as 10s, 5m or 2h');
    return undefined;
  }
}

function unknownKeys(o: Obj, allowed: readonly string[], at: string, fail: AlertsFail): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) fail(`${at}.${k}`, `unknown field (known: ${allowed.join(', ')})`);
}

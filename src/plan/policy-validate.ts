/**
 * Checks policy data (parsed YAML, or the policy inside a plan) and fills the defaults. Every problem is
 * reported, each naming its field; nothing here knows about files or positions.
 */
import {
  DurationParseError,
  type Exclusion,
  exclusionInstant,
  type IntOrString,
  isTimeZone,
  isValidIntOrPercent,
  isZeroIntOrPercent,
  maintenanceWindowProblem,
  parseClockTime,
  parseDuration,
  parseLabelSelector,
  WEEKDAYS,
  weekdayOf,
} from '../core/index.ts';
import { validateGates, validatePrometheus } from '../gates/gate-policy.ts';
import { validateAlerts } from '../observe/observe-policy.ts';
import { validateEtcdPolicy } from './etcd-policy.ts';
import {
  defaultPolicy,
  NODE_STRATEGIES,
  ON_DRAIN_TIMEOUT,
  ON_OUTSIDE_WINDOW,
  POLICY_API_VERSION,
  type Policy,
  type PolicyError,
  type PolicyResult,
  type PoolPolicy,
} from './policy.ts';

/** maxSurge only adds replacement nodes (strategy replace): an in-place upgrade takes its node down. */
const IN_PLACE_NEEDS_UNAVAILABLE =
  'must be at least 1 with strategy in-place: upgrading a node in place takes it out of service (maxSurge applies to strategy replace)';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates a parsed policy object and fills defaults; every problem is reported, not just the first. */
export function validatePolicy(raw: unknown, file: string): PolicyResult {
  const errors: PolicyError[] = [];
  const fail = (field: string, message: string) => errors.push({ file, field, message });
  const policy = defaultPolicy();
  if (!isObj(raw)) {
    fail('(root)', 'must be a mapping');
    return { ok: false, errors };
  }
  const known = new Set(
    Object.keys(policy).concat(
      'poolLabel',
      'onOutsideWindow',
      'exclusions',
      'alerts',
      'prometheus',
      'etcd',
      'poolConcurrency',
      'nodeProvider',
    ),
  );
  for (const key of Object.keys(raw))
    if (!known.has(key)) fail(key, `unknown field (known: ${[...known].sort().join(', ')})`);
  if (raw.apiVersion !== undefined && raw.apiVersion !== POLICY_API_VERSION) {
    fail('apiVersion', `must be ${POLICY_API_VERSION}`);
  }
  if (raw.kind !== undefined && raw.kind !== 'UpgradePolicy') fail('kind', 'must be UpgradePolicy');

  const str = (v: unknown, field: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') fail(field, 'must be a non-empty string');
    else return v;
    return undefined;
  };
  const bool = (v: unknown, field: string): boolean | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') fail(field, 'must be true or false');
    else return v;
    return undefined;
  };
  const duration = (v: unknown, field: string): string | undefined => {
    if (v === undefined) return undefined;
    try {
      if (typeof v !== 'string' && typeof v !== 'number') throw new DurationParseError(v);
      parseDuration(v);
      return String(v);
    } catch {
      fail(field, 'must be a duration such as 30s, 15m or 1h30m');
      return undefined;
    }
  };
  const intOrPercent = (v: unknown, field: string): IntOrString | undefined => {
    if (v === undefined) return undefined;
    if (!isValidIntOrPercent(v)) fail(field, 'must be a non-negative integer or a percentage like "25%"');
    else return v;
    return undefined;
  };
  const oneOf = <T extends string>(v: unknown, values: readonly T[], field: string): T | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !values.includes(v as T))
      fail(field, `must be one of: ${values.join(', ')}`);
    else return v as T;
    return undefined;
  };
  const section = (key: string): Obj | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) {
      fail(key, 'must be a mapping');
      return undefined;
    }
    return v;
  };
  const unknownKeys = (o: Obj, allowed: readonly string[], prefix: string) => {
    for (const k of Object.keys(o))
      if (!allowed.includes(k)) fail(`${prefix}.${k}`, `unknown field (known: ${allowed.join(', ')})`);
  };
  /**
   * Policies written before nodes flowed: says what batchSoak became rather than "unknown field"; returns the
   * key so the caller's unknownKeys does not report it twice.
   */
  const renamedSoak = (o: Obj, prefix: string): string[] => {
    if (o.batchSoak === undefined) return [];
    fail(
      `${prefix}.batchSoak`,
      'is now waveSoak: nodes no longer go in batches but flow, and the soak follows each wave (see waveSize)',
    );
    return ['batchSoak'];
  };
  const waveSize = (v: unknown, field: string): IntOrString | undefined => {
    const size = intOrPercent(v, field);
    if (size !== undefined && isZeroIntOrPercent(size))
      fail(field, 'must be at least 1 node (or a percent above 0): a wave of no node never ends');
    else return size;
    return undefined;
  };

  const poolLabel = str(raw.poolLabel, 'poolLabel');
  if (poolLabel) policy.poolLabel = poolLabel;

  const defaults = section('defaults');
  if (defaults) {
    unknownKeys(defaults, ['maxUnavailable', 'maxSurge', 'strategy', 'waveSize'], 'defaults');
    policy.defaults.maxUnavailable =
      intOrPercent(defaults.maxUnavailable, 'defaults.maxUnavailable') ?? policy.defaults.maxUnavailable;
    policy.defaults.maxSurge =
      intOrPercent(defaults.maxSurge, 'defaults.maxSurge') ?? policy.defaults.maxSurge;
    policy.defaults.strategy =
      oneOf(defaults.strategy, NODE_STRATEGIES, 'defaults.strategy') ?? policy.defaults.strategy;
    policy.defaults.waveSize = waveSize(defaults.waveSize, 'defaults.waveSize') ?? policy.defaults.waveSize;
  }

  if (raw.pools !== undefined) {
    if (!Array.isArray(raw.pools)) fail('pools', 'must be a list');
    else {
      const names = new Set<string>();
      raw.pools.forEach((p, i) => {
        const at = `pools[${i}]`;
        if (!isObj(p)) {
          fail(at, 'must be a mapping with at least a name');
          return;
        }
        unknownKeys(
          p,
          [
            'name',
            'selector',
            'maxUnavailable',
            'maxSurge',
            'strategy',
            'waveSize',
            'waveSoak',
            'finalSoak',
            ...renamedSoak(p, at),
          ],
          at,
        );
        const name = str(p.name, `${at}.name`);
        if (p.name === undefined) fail(`${at}.name`, 'is required');
        if (name && names.has(name)) fail(`${at}.name`, `duplicate pool "${name}"`);
        if (name) names.add(name);
        const pool: PoolPolicy = { name: name ?? `pool-${i}` };
        const selector = str(p.selector, `${at}.selector`);
        if (selector) {
          try {
            parseLabelSelector(selector);
            pool.selector = selector;
          } catch (err) {
            fail(`${at}.selector`, (err as Error).message);
          }
        }
        const mu = intOrPercent(p.maxUnavailable, `${at}.maxUnavailable`);
        if (mu !== undefined) pool.maxUnavailable = mu;
        const ms = intOrPercent(p.maxSurge, `${at}.maxSurge`);
        if (ms !== undefined) pool.maxSurge = ms;
        const strategy = oneOf(p.strategy, NODE_STRATEGIES, `${at}.strategy`);
        if (strategy) pool.strategy = strategy;
        const size = waveSize(p.waveSize, `${at}.waveSize`);
        if (size !== undefined) pool.waveSize = size;
        const soak = duration(p.waveSoak, `${at}.waveSoak`);
        if (soak) pool.waveSoak = soak;
        const finalSoak = duration(p.finalSoak, `${at}.finalSoak`);
        if (finalSoak) pool.finalSoak = finalSoak;
        const poolStrategy = pool.strategy ?? policy.defaults.strategy;
        if (isZeroIntOrPercent(pool.maxUnavailable ?? policy.defaults.maxUnavailable)) {
          if (isZeroIntOrPercent(pool.maxSurge ?? policy.defaults.maxSurge))
            fail(
              `${at}.maxUnavailable`,
              'maxUnavailable and maxSurge cannot both be 0: the pool could never progress',
            );
          else if (poolStrategy === 'in-place') fail(`${at}.maxUnavailable`, IN_PLACE_NEEDS_UNAVAILABLE);
        }
        policy.pools.push(pool);
      });
    }
  }
  if (isZeroIntOrPercent(policy.defaults.maxUnavailable)) {
    if (isZeroIntOrPercent(policy.defaults.maxSurge))
      fail(
        'defaults.maxUnavailable',
        'maxUnavailable and maxSurge cannot both be 0: pools could never progress',
      );
    else if (policy.defaults.strategy === 'in-place')
      fail('defaults.maxUnavailable', IN_PLACE_NEEDS_UNAVAILABLE);
  }

  const concurrency = section('poolConcurrency');
  if (concurrency) {
    unknownKeys(concurrency, ['maxInFlight', 'pools'], 'poolConcurrency');
    const count = (key: 'maxInFlight' | 'pools', least: number, why: string): number | undefined => {
      const v = concurrency[key];
      if (v === undefined) return undefined;
      if (typeof v === 'number' && Number.isInteger(v) && v >= least) return v;
      fail(`poolConcurrency.${key}`, `must be an integer of at least ${least}: ${why}`);
      return undefined;
    };
    const maxInFlight = count('maxInFlight', 1, 'the nodes out of service at once across the pools');
    const pools = count(
      'pools',
      2,
      'how many pools flow side by side (leave the section out for one at a time)',
    );
    if (concurrency.maxInFlight === undefined)
      fail(
        'poolConcurrency.maxInFlight',
        'is required: the nodes out of service at once across the pools flowing together (e.g. 4)',
      );
    if (maxInFlight !== undefined)
      policy.poolConcurrency = { maxInFlight, ...(pools !== undefined ? { pools } : {}) };
  }

  const canary = section('canary');
  if (canary) {
    unknownKeys(canary, ['nodes', 'pool', 'soak'], 'canary');
    if (canary.nodes !== undefined) {
      if (typeof canary.nodes !== 'number' || !Number.isInteger(canary.nodes) || canary.nodes < 0) {
        fail('canary.nodes', 'must be a non-negative integer');
      } else policy.canary.nodes = canary.nodes;
    }
    const pool = str(canary.pool, 'canary.pool');
    if (pool) policy.canary.pool = pool;
    policy.canary.soak = duration(canary.soak, 'canary.soak') ?? policy.canary.soak;
  }

  const drain = section('drain');
  if (drain) {
    unknownKeys(
      drain,
      [
        'timeout',
        'gracePeriodSeconds',
        'deleteEmptyDirData',
        'force',
        'onTimeout',
        'maxQuarantined',
        'controlPlane',
        'preferUpgradedNodes',
      ],
      'drain',
    );
    policy.drain.timeout = duration(drain.timeout, 'drain.timeout') ?? policy.drain.timeout;
    if (drain.gracePeriodSeconds !== undefined) {
      const g = drain.gracePeriodSeconds;
      if (typeof g !== 'number' || !Number.isInteger(g) || g < -1)
        fail('drain.gracePeriodSeconds', "must be an integer ≥ -1 (-1 keeps each pod's own)");
      else policy.drain.gracePeriodSeconds = g;
    }
    policy.drain.deleteEmptyDirData =
      bool(drain.deleteEmptyDirData, 'drain.deleteEmptyDirData') ?? policy.drain.deleteEmptyDirData;
    policy.drain.force = bool(drain.force, 'drain.force') ?? policy.drain.force;
    policy.drain.onTimeout =
      oneOf(drain.onTimeout, ON_DRAIN_TIMEOUT, 'drain.onTimeout') ?? policy.drain.onTimeout;
    if (drain.maxQuarantined !== undefined) {
      const m = drain.maxQuarantined;
      if (typeof m !== 'number' || !Number.isInteger(m) || m < 0)
        fail('drain.maxQuarantined', 'must be a non-negative integer (nodes per pool; 0 halts instead)');
      else policy.drain.maxQuarantined = m;
    }
    policy.drain.controlPlane = bool(drain.controlPlane, 'drain.controlPlane') ?? policy.drain.controlPlane;
    const preferUpgraded = bool(drain.preferUpgradedNodes, 'drain.preferUpgradedNodes');
    if (preferUpgraded !== undefined) policy.drain.preferUpgradedNodes = preferUpgraded;
  }

  const timings = section('timings');
  if (timings) {
    const keys = Object.keys(policy.timings) as Array<keyof Policy['timings']>;
    unknownKeys(timings, [...keys, ...renamedSoak(timings, 'timings')], 'timings');
    for (const k of keys) policy.timings[k] = duration(timings[k], `timings.${k}`) ?? policy.timings[k];
  }

  if (raw.maintenanceWindows !== undefined) {
    if (!Array.isArray(raw.maintenanceWindows)) fail('maintenanceWindows', 'must be a list');
    else {
      raw.maintenanceWindows.forEach((w, i) => {
        const at = `maintenanceWindows[${i}]`;
        if (!isObj(w)) {
          fail(at, 'must be a mapping with days, start, end');
          return;
        }
        unknownKeys(w, ['days', 'start', 'end', 'timeZone'], at);
        const days = Array.isArray(w.days) ? w.days.map((d) => weekdayOf(String(d))) : undefined;
        if (!days || days.length === 0 || days.some((d) => d === undefined)) {
          fail(`${at}.days`, `must list weekdays (${WEEKDAYS.join(', ')})`);
        }
        const time = (k: 'start' | 'end'): string | undefined => {
          const v = w[k];
          if (v === undefined) fail(`${at}.${k}`, 'is required: a time "HH:MM"');
          else if (typeof v !== 'string' || parseClockTime(v, k === 'end') === undefined)
            fail(
              `${at}.${k}`,
              `must be a time "HH:MM" between "00:00" and "${k === 'end' ? '24:00' : '23:59'}", quoted (got ${JSON.stringify(v)})`,
            );
          else return v;
          return undefined;
        };
        const start = time('start');
        const end = time('end');
        const timeZone = w.timeZone === undefined ? 'UTC' : str(w.timeZone, `${at}.timeZone`);
        if (timeZone && !isTimeZone(timeZone))
          fail(`${at}.timeZone`, `unknown time zone "${timeZone}" (an IANA name such as Europe/Paris)`);
        const window = {
          days: (days ?? []).filter((d) => d !== undefined),
          start: start ?? '',
          end: end ?? '',
          timeZone: timeZone ?? 'UTC',
        };
        const problem = start && end ? maintenanceWindowProblem(window) : undefined;
        if (problem) fail(`${at}.end`, problem);
        policy.maintenanceWindows.push(window);
      });
    }
  }
  const onOutsideWindow = oneOf(raw.onOutsideWindow, ON_OUTSIDE_WINDOW, 'onOutsideWindow');
  if (onOutsideWindow) policy.onOutsideWindow = onOutsideWindow;

  if (raw.exclusions !== undefined && raw.exclusions !== null) {
    if (!Array.isArray(raw.exclusions)) fail('exclusions', 'must be a list');
    else {
      policy.exclusions = [];
      raw.exclusions.forEach((x, i) => {
        const at = `exclusions[${i}]`;
        if (!isObj(x)) {
          fail(at, 'must be a mapping with start, end and reason');
          return;
        }
        unknownKeys(x, ['start', 'end', 'timeZone', 'reason'], at);
        const timeZone = x.timeZone === undefined ? 'UTC' : str(x.timeZone, `${at}.timeZone`);
        const zoneOk = timeZone !== undefined && isTimeZone(timeZone);
        if (timeZone && !zoneOk)
          fail(`${at}.timeZone`, `unknown time zone "${timeZone}" (an IANA name such as Europe/Paris)`);
        const instant = (k: 'start' | 'end'): { text: string; at: number } | undefined => {
          // Note: YAML 1.1 readers turn an unquoted date into a timestamp; take it back as the date it was.
          const v = x[k] instanceof Date ? (x[k] as Date).toISOString() : x[k];
          if (v === undefined) {
            fail(`${at}.${k}`, 'is required: a date (2026-12-20) or a date-time (2026-12-20T18:00)');
            return undefined;
          }
          const when = typeof v === 'string' && zoneOk ? exclusionInstant(v, timeZone, k) : undefined;
          if (typeof v !== 'string' || (zoneOk && when === undefined)) {
            fail(
              `${at}.${k}`,
              `must be a date (2026-12-20) or a date-time (2026-12-20T18:00, optionally with Z or an offset such as +01:00), got ${JSON.stringify(v)}`,
            );
            return undefined;
          }
          return when === undefined ? undefined : { text: v, at: when };
        };
        const start = instant('start');
        const end = instant('end');
        if (start && end && end.at <= start.at)
          fail(
            `${at}.end`,
            `must be after start (${start.text}): ${end.text} ${end.at === start.at ? 'is the same instant' : 'is before it'}`,
          );
        const reason = str(x.reason, `${at}.reason`);
        if (x.reason === undefined)
          fail(`${at}.reason`, 'is required: say why (shown when a run is refused)');
        const exclusion: Exclusion = {
          start: start?.text ?? '',
          end: end?.text ?? '',
          reason: reason ?? '',
        };
        if (x.timeZone !== undefined && timeZone) exclusion.timeZone = timeZone;
        policy.exclusions?.push(exclusion);
      });
    }
  }

  const etcd = section('etcdBackup');
  if (etcd) {
    unknownKeys(
      etcd,
      ['enabled', 'endpoints', 'cacert', 'cert', 'key', 'dir', 'drill', 'required', 'maxAge'],
      'etcdBackup',
    );
    const backup = policy.etcdBackup;
    backup.enabled = bool(etcd.enabled, 'etcdBackup.enabled') ?? true;
    if (etcd.endpoints !== undefined) {
      const list = Array.isArray(etcd.endpoints) ? etcd.endpoints : [];
      const bad = list.filter((e) => typeof e !== 'string' || !/^https?:\/\/[^/\s]+\/?$/.test(e));
      if (list.length === 0 || bad.length > 0)
        fail(
          'etcdBackup.endpoints',
          `must be a list of etcd client URLs such as https://10.0.0.1:2379${bad.length ? `, got ${JSON.stringify(bad[0])}` : ''}`,
        );
      else backup.endpoints = list as string[];
    }
    for (const field of ['cacert', 'cert', 'key', 'dir'] as const) {
      const value = str(etcd[field], `etcdBackup.${field}`);
      if (value !== undefined) backup[field] = value;
    }
    if (Boolean(backup.cert) !== Boolean(backup.key))
      fail(
        'etcdBackup.cert',
        'a client certificate needs its key: set both etcdBackup.cert and etcdBackup.key',
      );
    const drill = bool(etcd.drill, 'etcdBackup.drill');
    if (drill !== undefined) backup.drill = drill;
    const required = bool(etcd.required, 'etcdBackup.required');
    if (required !== undefined) backup.required = required;
    const maxAge = duration(etcd.maxAge, 'etcdBackup.maxAge');
    if (maxAge !== undefined) backup.maxAge = maxAge;
  }
  const etcdRoll = validateEtcdPolicy(raw.etcd, 'etcd', fail);
  if (etcdRoll) {
    policy.etcd = etcdRoll;
    // Note: an external etcd the policy rolls is where the backup streams from too, unless the policy says
    // otherwise: the user writes its members and certificates once.
    const backup = policy.etcdBackup;
    if (!backup.endpoints?.length) {
      backup.endpoints = etcdRoll.members.map((m) => m.endpoint);
      if (!backup.cacert && !backup.cert) Object.assign(backup, etcdRoll.tls ?? {});
    }
  }
  const provider = section('provider');
  if (provider) {
    const kind = str(provider.kind, 'provider.kind');
    if (provider.kind === undefined) fail('provider.kind', 'is required (e.g. job or command)');
    policy.provider = { ...provider, kind: kind ?? 'job' };
  }
  const nodeProvider = section('nodeProvider');
  if (nodeProvider) {
    const kind = str(nodeProvider.kind, 'nodeProvider.kind');
    if (nodeProvider.kind === undefined)
      fail('nodeProvider.kind', 'is required (sandbox, command or cluster-api)');
    else if (kind) policy.nodeProvider = { ...nodeProvider, kind };
  }
  const surgePools = [
    ...(policy.defaults.strategy === 'surge' || policy.defaults.strategy === 'blue-green'
      ? ['defaults']
      : []),
    ...policy.pools.flatMap((p, i) =>
      p.strategy === 'surge' || p.strategy === 'blue-green' ? [`pools[${i}]`] : [],
    ),
  ];
  if (surgePools.length > 0 && !nodeProvider) {
    const at = surgePools[0]!;
    const strategy =
      at === 'defaults' ? policy.defaults.strategy : policy.pools[Number(at.slice(6, -1))]?.strategy;
    fail(
      `${at}.strategy`,
      `${strategy} replaces nodes: the policy needs a nodeProvider saying how nodes are created and deleted (kind sandbox, command or cluster-api; docs/policy.md)`,
    );
  }
  const hooks = section('hooks');
  if (hooks) policy.hooks = hooks;
  const prometheus = validatePrometheus(raw.prometheus);
  for (const e of prometheus.errors) fail(e.field, e.message);
  if (prometheus.settings) policy.prometheus = prometheus.settings;
  const gates = validateGates(raw.gates, 'gates', {
    prometheusConfigured: raw.prometheus !== undefined && raw.prometheus !== null,
  });
  for (const e of gates.errors) fail(e.field, e.message);
  policy.gates = gates.gates;
  const alerts = validateAlerts(raw.alerts, 'alerts', fail);
  if (alerts) policy.alerts = alerts;

  const pf = section('preflight');
  if (pf) {
    unknownKeys(pf, ['skip', 'certificateWarningDays', 'crashLoopRestarts'], 'preflight');
    if (pf.skip !== undefined) {
      if (!Array.isArray(pf.skip) || pf.skip.some((s) => typeof s !== 'string'))
        fail('preflight.skip', 'must be a list of check ids');
      else policy.preflight.skip = pf.skip as string[];
    }
    for (const k of ['certificateWarningDays', 'crashLoopRestarts'] as const) {
      const v = pf[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        fail(`preflight.${k}`, 'must be a non-negative integer');
      else policy.preflight[k] = v;
    }
  }

  if (policy.canary.pool && raw.pools !== undefined && Array.isArray(raw.pools) && policy.pools.length > 0) {
    if (!policy.pools.some((p) => p.name === policy.canary.pool)) {
      fail('canary.pool', `names a pool not listed in pools (${policy.pools.map((p) => p.name).join(', ')})`);
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, policy };
}

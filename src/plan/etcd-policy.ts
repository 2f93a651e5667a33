/**
 * The policy's `etcd:` section: an external etcd cluster the plan rolls member by member, and how each
 * member is upgraded (or restarted). Absent from the default policy, so plans without it keep their id.
 *
 *   etcd:
 *     members:
 *       - { name: etcd-a, endpoint: https://10.0.0.11:2379 }
 *       - { name: etcd-b, endpoint: https://10.0.0.12:2379 }
 *       - { name: etcd-c, endpoint: https://10.0.0.13:2379 }
 *     tls: { cacert: /etc/etcd/pki/ca.crt, cert: /etc/etcd/pki/client.crt, key: /etc/etcd/pki/client.key }
 *     version: 3.5.17
 *     upgrade: { kind: command, command: "ssh {member} sudo /usr/local/sbin/etcd-upgrade {version}", timeout: 10m }
 *     health: { timeout: 5m, raftIndexTolerance: 16 }
 *
 * Every problem is reported, each naming its field; the quorum rule itself is core's (quorumLossOf).
 */
import {
  DurationParseError,
  ETCD_MEMBER_PLACEHOLDERS,
  ETCD_UPGRADE_STAGES,
  parseDuration,
  quorumLossOf,
  unknownPlaceholders,
} from '../core/index.ts';

export interface EtcdMemberPolicy {
  /** The member's name, as `etcdctl member list` shows it (etcd's --name). */
  name: string;
  /** Its client URL, e.g. https://10.0.0.11:2379. */
  endpoint: string;
}

/** Client certificates for https endpoints, as etcdctl takes them (--cacert, --cert, --key). */
export interface EtcdTlsPolicy {
  cacert?: string;
  cert?: string;
  key?: string;
}

/**
 * How a member is upgraded: one command, or stop → swap (optional) → start, each a template with {member},
 * {endpoint} and {version}. The engine moves leadership away first and checks the member afterwards; the
 * commands only do the work. IMPORTANT: like every provider, they must be safe to run again after a crash.
 */
export interface EtcdUpgradePolicy {
  kind: 'command';
  command?: string;
  stop?: string;
  swap?: string;
  start?: string;
  /** Wall-clock deadline of each command. */
  timeout: string;
}

export interface EtcdPolicy {
  members: EtcdMemberPolicy[];
  tls?: EtcdTlsPolicy;
  /**
   * The etcd version each member moves to ({version}); each member must report it after its step. Absent:
   * the roll restarts the members as they are (new flags, certificates), and {version} may not be used.
   */
  version?: string;
  upgrade: EtcdUpgradePolicy;
  health: {
    /** Clock time each wait may take: every member healthy and caught up, leadership moved, the member back. */
    timeout: string;
    /** How many raft entries a member's committed index may trail the leader's and count as caught up. */
    raftIndexTolerance: number;
  };
  /** The plan's estimate for one member. */
  memberEstimate: string;
}

/** A roll takes one member down at a time (one member per step of the etcd phase). */
export const ETCD_MEMBERS_DOWN_AT_ONCE = 1;

/** Why a cluster of `members` cannot be rolled, or undefined: core's quorum rule for one member down at a time. */
export function etcdQuorumLoss(members: number): string | undefined {
  return quorumLossOf(members, ETCD_MEMBERS_DOWN_AT_ONCE);
}

const DEFAULT_HEALTH = { timeout: '5m', raftIndexTolerance: 16 };
const DEFAULT_COMMAND_TIMEOUT = '10m';
const DEFAULT_MEMBER_ESTIMATE = '3m';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `3.5.17` or `v3.5.17`, as etcd --version prints it. */
export function normalizeEtcdVersion(version: string): string {
  return version.replace(/^v/, '');
}

/** Checks the `etcd:` section and fills its defaults; undefined when absent (or too wrong to use). */
export function validateEtcdPolicy(
  raw: unknown,
  at: string,
  fail: (field: string, message: string) => void,
): EtcdPolicy | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObj(raw)) {
    fail(at, 'must be a mapping with members and upgrade');
    return undefined;
  }
  const unknownKeys = (o: Obj, allowed: readonly string[], prefix: string) => {
    for (const k of Object.keys(o))
      if (!allowed.includes(k)) fail(`${prefix}.${k}`, `unknown field (known: ${allowed.join(', ')})`);
  };
  const text = (v: unknown, field: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') fail(field, 'must be a non-empty string');
    else return v;
    return undefined;
  };
  const duration = (v: unknown, field: string, fallback: string): string => {
    if (v === undefined) return fallback;
    try {
      if (typeof v !== 'string' && typeof v !== 'number') throw new DurationParseError(v);
      parseDuration(v);
      return String(v);
    } catch {
      fail(field, 'must be a duration such as 30s, 5m or 1h');
      return fallback;
    }
  };
  unknownKeys(raw, ['members', 'tls', 'version', 'upgrade', 'health', 'memberEstimate'], at);

  const members = membersOf(raw.members, `${at}.members`, fail);
  const tls = tlsOf(raw.tls, `${at}.tls`, fail, text, unknownKeys);
  if (tls)
    members.forEach((m, i) => {
      if (m.endpoint.startsWith('http:'))
        fail(
          `${at}.members[${i}].endpoint`,
          `is plain http but ${at}.tls is set: use the member's https:// client URL, or drop tls`,
        );
    });

  const version = text(raw.version, `${at}.version`);
  if (version !== undefined && !/^v?\d+\.\d+\.\d+$/.test(version))
    fail(`${at}.version`, `must be an etcd version such as 3.5.17 (got ${JSON.stringify(version)})`);

  const upgrade: EtcdUpgradePolicy = { kind: 'command', timeout: DEFAULT_COMMAND_TIMEOUT };
  const u = raw.upgrade;
  if (u === undefined || u === null)
    fail(
      `${at}.upgrade`,
      'is required: how a member is upgraded, e.g. { kind: command, command: "ssh {member} sudo systemctl restart etcd" }',
    );
  else if (!isObj(u)) fail(`${at}.upgrade`, 'must be a mapping with kind and command (or stop and start)');
  else {
    unknownKeys(u, ['kind', ...ETCD_UPGRADE_STAGES, 'timeout'], `${at}.upgrade`);
    if (u.kind !== undefined && u.kind !== 'command')
      fail(`${at}.upgrade.kind`, 'must be command (the only etcd member provider)');
    for (const key of ETCD_UPGRADE_STAGES) {
      const field = `${at}.upgrade.${key}`;
      const template = text(u[key], field);
      if (template === undefined) continue;
      upgrade[key] = template;
      const unknown = unknownPlaceholders(template, ETCD_MEMBER_PLACEHOLDERS);
      if (unknown.length > 0)
        fail(
          field,
          `unknown placeholder {${unknown[0]}} (known: ${ETCD_MEMBER_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}; the shell's \${VAR} passes through)`,
        );
      if (version === undefined && template.includes('{version}'))
        fail(
          field,
          `uses {version} but ${at}.version is not set: set the etcd version the members move to, or drop {version} to restart them as they are`,
        );
    }
    const staged = upgrade.stop !== undefined || upgrade.swap !== undefined || upgrade.start !== undefined;
    if (upgrade.command !== undefined && staged)
      fail(`${at}.upgrade`, 'has command and stop/swap/start: give one command, or the stop and start steps');
    else if (upgrade.command === undefined && !staged)
      fail(`${at}.upgrade`, 'needs command, or stop and start (swap between them is optional)');
    else if (staged && (upgrade.stop === undefined || upgrade.start === undefined))
      fail(
        `${at}.upgrade.${upgrade.stop === undefined ? 'stop' : 'start'}`,
        'is required with stop/swap/start: a member is stopped, changed, then started again',
      );
    upgrade.timeout = duration(u.timeout, `${at}.upgrade.timeout`, DEFAULT_COMMAND_TIMEOUT);
  }

  const health = { ...DEFAULT_HEALTH };
  const h = raw.health;
  if (h !== undefined && h !== null) {
    if (!isObj(h)) fail(`${at}.health`, 'must be a mapping with timeout and/or raftIndexTolerance');
    else {
      unknownKeys(h, ['timeout', 'raftIndexTolerance'], `${at}.health`);
      health.timeout = duration(h.timeout, `${at}.health.timeout`, DEFAULT_HEALTH.timeout);
      const tolerance = h.raftIndexTolerance;
      if (tolerance !== undefined) {
        if (typeof tolerance !== 'number' || !Number.isInteger(tolerance) || tolerance < 0)
          fail(
            `${at}.health.raftIndexTolerance`,
            'must be a non-negative integer (raft entries a member may trail the leader by)',
          );
        else health.raftIndexTolerance = tolerance;
      }
    }
  }

  const policy: EtcdPolicy = {
    members,
    upgrade,
    health,
    memberEstimate: duration(raw.memberEstimate, `${at}.memberEstimate`, DEFAULT_MEMBER_ESTIMATE),
  };
  if (tls) policy.tls = tls;
  if (version !== undefined) policy.version = version;
  return policy;
}

function membersOf(raw: unknown, at: string, fail: (field: string, message: string) => void) {
  const members: EtcdMemberPolicy[] = [];
  if (raw === undefined) {
    fail(at, 'is required: every member of the etcd cluster, each with name and endpoint');
    return members;
  }
  if (!Array.isArray(raw)) {
    fail(at, 'must be a list of members, each with name and endpoint');
    return members;
  }
  const names = new Set<string>();
  const endpoints = new Set<string>();
  raw.forEach((m, i) => {
    const mat = `${at}[${i}]`;
    if (!isObj(m)) {
      fail(mat, 'must be a mapping with name and endpoint');
      return;
    }
    for (const k of Object.keys(m))
      if (k !== 'name' && k !== 'endpoint') fail(`${mat}.${k}`, 'unknown field (known: name, endpoint)');
    const name = typeof m.name === 'string' && m.name.trim() !== '' ? m.name : undefined;
    if (!name) fail(`${mat}.name`, "is required: the member's name, as `etcdctl member list` shows it");
    else if (names.has(name)) fail(`${mat}.name`, `duplicate member "${name}"`);
    const endpoint = typeof m.endpoint === 'string' ? m.endpoint : undefined;
    if (!endpoint || !isClientUrl(endpoint))
      fail(
        `${mat}.endpoint`,
        `must be the member's client URL, such as https://10.0.0.11:2379 (got ${JSON.stringify(m.endpoint ?? null)})`,
      );
    else if (endpoints.has(endpoint)) fail(`${mat}.endpoint`, `duplicate endpoint ${endpoint}`);
    if (name) names.add(name);
    if (endpoint) endpoints.add(endpoint);
    members.push({ name: name ?? '', endpoint: endpoint ?? '' });
  });
  // Note: the plan takes members down one at a time; a cluster that cannot spare one cannot be rolled.
  const loss = members.length > 0 ? etcdQuorumLoss(members.length) : undefined;
  if (raw.length === 0) fail(at, 'must list every member of the etcd cluster (none given)');
  else if (loss)
    fail(
      at,
      `${loss}: a roll takes one member down at a time, so add members first (3 tolerate one down), or upgrade it by hand in a maintenance window`,
    );
  return members;
}

function tlsOf(
  raw: unknown,
  at: string,
  fail: (field: string, message: string) => void,
  text: (v: unknown, field: string) => string | undefined,
  unknownKeys: (o: Obj, allowed: readonly string[], prefix: string) => void,
): EtcdTlsPolicy | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObj(raw)) {
    fail(at, 'must be a mapping with cacert, cert and/or key (file paths)');
    return undefined;
  }
  unknownKeys(raw, ['cacert', 'cert', 'key'], at);
  const tls: EtcdTlsPolicy = {};
  for (const k of ['cacert', 'cert', 'key'] as const) {
    const path = text(raw[k], `${at}.${k}`);
    if (path !== undefined) tls[k] = path;
  }
  if ((tls.cert === undefined) !== (tls.key === undefined))
    fail(
      `${at}.${tls.cert === undefined ? 'cert' : 'key'}`,
      'is required with the other: a client certificate and its key go together',
    );
  return tls;
}

function isClientUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.pathname === '/'
    );
  } catch {
    return false;
  }
}

/** The policy's `etcd:` section: what it reads, what it fills, and each mistake named by its field. */
import { describe, expect, it } from 'vitest';
import { formatPolicyError, policyFromYaml, validatePolicy } from '../../src/plan/index.ts';

const THREE = [
  { name: 'etcd-a', endpoint: 'https://10.0.0.11:2379' },
  { name: 'etcd-b', endpoint: 'https://10.0.0.12:2379' },
  { name: 'etcd-c', endpoint: 'https://10.0.0.13:2379' },
];
const RESTART = { kind: 'command', command: 'ssh {member} sudo systemctl restart etcd' };

const errorsOf = (etcd: unknown) => {
  const result = validatePolicy({ etcd }, 'policy.yaml');
  return result.ok ? [] : result.errors.map((e) => `${e.field}: ${e.message}`);
};

describe('policy etcd section', () => {
  it('reads members, TLS, the version and a staged upgrade, and fills the health defaults', () => {
    const result = policyFromYaml(
      `etcd:
  members:
    - { name: etcd-a, endpoint: https://10.0.0.11:2379 }
    - { name: etcd-b, endpoint: https://10.0.0.12:2379 }
    - { name: etcd-c, endpoint: https://10.0.0.13:2379 }
  tls: { cacert: /pki/ca.crt, cert: /pki/client.crt, key: /pki/client.key }
  version: 3.5.17
  upgrade:
    kind: command
    stop: ssh {member} sudo systemctl stop etcd
    swap: ssh {member} sudo install /opt/etcd-v{version}/etcd /usr/local/bin/etcd
    start: ssh {member} sudo systemctl start etcd
`,
      'policy.yaml',
    );
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (!result.ok) return;
    expect(result.policy.etcd).toEqual({
      members: THREE,
      tls: { cacert: '/pki/ca.crt', cert: '/pki/client.crt', key: '/pki/client.key' },
      version: '3.5.17',
      upgrade: {
        kind: 'command',
        stop: 'ssh {member} sudo systemctl stop etcd',
        swap: 'ssh {member} sudo install /opt/etcd-v{version}/etcd /usr/local/bin/etcd',
        start: 'ssh {member} sudo systemctl start etcd',
        timeout: '10m',
      },
      health: { timeout: '5m', raftIndexTolerance: 16 },
      memberEstimate: '3m',
    });
  });

  it('is where the backup streams from when etcdBackup names no endpoints, with its certificates', () => {
    const tls = { cacert: '/pki/ca.crt', cert: '/pki/client.crt', key: '/pki/client.key' };
    const result = validatePolicy({ etcd: { members: THREE, tls, upgrade: RESTART } }, 'policy.yaml');
    expect(result.ok && result.policy.etcdBackup).toEqual({
      enabled: true,
      endpoints: THREE.map((m) => m.endpoint),
      ...tls,
    });
    const own = { endpoints: ['https://10.0.0.99:2379'], cacert: '/backup/ca.crt' };
    const kept = validatePolicy(
      { etcd: { members: THREE, tls, upgrade: RESTART }, etcdBackup: own },
      'p.yaml',
    );
    expect(kept.ok && kept.policy.etcdBackup).toEqual({ enabled: true, ...own });
  });

  it('is absent unless set, so plans without it keep their id', () => {
    const result = validatePolicy({}, 'policy.yaml');
    expect(result.ok && 'etcd' in result.policy).toBe(false);
  });

  it('keeps a filled section as it is when read again (the policy inside a plan)', () => {
    const first = validatePolicy({ etcd: { members: THREE, upgrade: RESTART } }, 'policy.yaml');
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const again = validatePolicy(JSON.parse(JSON.stringify(first.policy)), 'plan.policy');
    expect(again).toEqual(first);
  });

  it.each([
    ['no members', { upgrade: RESTART }, /^etcd\.members: is required/],
    ['an empty list', { members: [], upgrade: RESTART }, /^etcd\.members: must list every member/],
    [
      'one member: none can be spared',
      { members: THREE.slice(0, 1), upgrade: RESTART },
      /^etcd\.members: 1 member\(s\) tolerate no member down \(quorum needs 1 of 1\).*add members first/,
    ],
    [
      'two members: quorum is both of them',
      { members: THREE.slice(0, 2), upgrade: RESTART },
      /^etcd\.members: 2 member\(s\) tolerate no member down \(quorum needs 2 of 2\): taking 1 down for an upgrade would leave 1 and stop etcd/,
    ],
    [
      'a duplicate name',
      { members: [...THREE, { name: 'etcd-a', endpoint: 'https://10.0.0.14:2379' }], upgrade: RESTART },
      /^etcd\.members\[3\]\.name: duplicate member "etcd-a"/,
    ],
    [
      'an endpoint that is no client URL',
      { members: [{ name: 'x', endpoint: '10.0.0.1:2379' }, ...THREE.slice(1)], upgrade: RESTART },
      /^etcd\.members\[0\]\.endpoint: must be the member's client URL, such as https:\/\/10\.0\.0\.11:2379 \(got "10\.0\.0\.1:2379"\)/,
    ],
    [
      'plain http with TLS files',
      {
        members: [{ name: 'x', endpoint: 'http://10.0.0.1:2379' }, ...THREE.slice(1)],
        tls: { cacert: '/ca' },
        upgrade: RESTART,
      },
      /^etcd\.members\[0\]\.endpoint: is plain http but etcd\.tls is set/,
    ],
    [
      'a certificate without its key',
      { members: THREE, tls: { cert: '/c' }, upgrade: RESTART },
      /^etcd\.tls\.key: is required with the other/,
    ],
    ['no upgrade', { members: THREE }, /^etcd\.upgrade: is required: how a member is upgraded/],
    [
      'another provider kind',
      { members: THREE, upgrade: { kind: 'job', command: 'x' } },
      /^etcd\.upgrade\.kind: must be command/,
    ],
    [
      'both a command and staged steps',
      { members: THREE, upgrade: { command: 'a', stop: 'b', start: 'c' } },
      /^etcd\.upgrade: has command and stop\/swap\/start/,
    ],
    [
      'a stop without a start',
      { members: THREE, upgrade: { stop: 'b', swap: 'c' } },
      /^etcd\.upgrade\.start: is required with stop\/swap\/start/,
    ],
    [
      'an unknown placeholder',
      { members: THREE, upgrade: { command: 'ssh {node} restart' } },
      /^etcd\.upgrade\.command: unknown placeholder \{node\} \(known: \{member\} \{endpoint\} \{version\}/,
    ],
    [
      '{version} with no version set',
      { members: THREE, upgrade: { command: 'upgrade {member} {version}' } },
      /^etcd\.upgrade\.command: uses \{version\} but etcd\.version is not set/,
    ],
    [
      'a version that is not one',
      { members: THREE, version: 'latest', upgrade: RESTART },
      /^etcd\.version: must be an etcd version such as 3\.5\.17/,
    ],
    [
      'a negative tolerance',
      { members: THREE, upgrade: RESTART, health: { raftIndexTolerance: -1 } },
      /^etcd\.health\.raftIndexTolerance: must be a non-negative integer/,
    ],
    [
      'a timeout that is no duration',
      { members: THREE, upgrade: RESTART, health: { timeout: 'soon' } },
      /^etcd\.health\.timeout: must be a duration/,
    ],
    ['an unknown field', { members: THREE, upgrade: RESTART, leader: 'a' }, /^etcd\.leader: unknown field/],
  ])('refuses %s', (_, etcd, message) => {
    const errors = errorsOf(etcd);
    expect(
      errors.some((e) => message.test(e)),
      errors.join('\n'),
    ).toBe(true);
  });

  it('points at the line of the mistake in the file', () => {
    const result = policyFromYaml(
      `etcd:
  members:
    - { name: a, endpoint: https://a:2379 }
    - { name: b, endpoint: https://b:2379 }
  upgrade: { kind: command, command: "restart {member}" }
`,
      'policy.yaml',
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatPolicyError)).toEqual([
      expect.stringMatching(/^policy\.yaml:2:3: etcd\.members: 2 member\(s\) tolerate no member down/),
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { defaultPolicy, formatPolicyError, policyFromYaml, validatePolicy } from '../../src/plan/index.ts';

describe('policy', () => {
  it('fills careful defaults for an empty file', () => {
    const result = policyFromYaml('', 'policy.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policy).toEqual(defaultPolicy());
    expect(result.policy.defaults.maxUnavailable).toBe(1);
    expect(result.policy.drain).toMatchObject({ onTimeout: 'halt', deleteEmptyDirData: false, force: false });
    expect(result.policy.canary).toEqual({ nodes: 1, soak: '10m' });
  });

  it('reads a full policy', () => {
    const result = policyFromYaml(
      `apiVersion: midflight.dev/v1alpha1
kind: UpgradePolicy
poolLabel: acme.io/pool
pools:
  - name: system
    maxUnavailable: 1
  - name: workers
    selector: "acme.io/pool in (web,batch)"
    maxUnavailable: "20%"
    maxSurge: 2
    strategy: replace
    waveSoak: 2m
canary: {pool: system, soak: 30m}
drain: {timeout: 20m, gracePeriodSeconds: 60, deleteEmptyDirData: true, onTimeout: quarantine, maxQuarantined: 2}
maintenanceWindows:
  - {days: [Mon, tue], start: "22:00", end: "04:00", timeZone: Europe/Paris}
preflight: {skip: [certificates]}
`,
      'policy.yaml',
    );
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (!result.ok) return;
    expect(result.policy.pools[1]).toEqual({
      name: 'workers',
      selector: 'acme.io/pool in (web,batch)',
      maxUnavailable: '20%',
      maxSurge: 2,
      strategy: 'replace',
      waveSoak: '2m',
    });
    expect(result.policy.maintenanceWindows[0]!.days).toEqual(['mon', 'tue']);
    expect(result.policy.drain.onTimeout).toBe('quarantine');
    expect(result.policy.drain.maxQuarantined).toBe(2);
  });

  it('reads the etcdBackup section; fields left unset stay out of the policy (plans keep their id)', () => {
    const etcdBackup = {
      endpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'],
      cacert: '/pki/ca.crt',
      cert: '/pki/c.crt',
      key: '/pki/c.key',
      dir: '~/backups',
      drill: true,
      required: true,
      maxAge: '24h',
    };
    const result = validatePolicy({ etcdBackup }, 'p.yaml');
    expect(result.ok && result.policy.etcdBackup).toEqual({ enabled: true, ...etcdBackup });
    const bare = validatePolicy({ etcdBackup: { enabled: false } }, 'p.yaml');
    expect(bare.ok && bare.policy.etcdBackup).toEqual({ enabled: false });
  });

  it.each([
    [
      { pools: [{ name: 'a', maxUnavailable: '150' }, { maxUnavailable: 'lots' }] },
      'pools[1].maxUnavailable',
      /integer or a percentage/,
    ],
    [
      { pools: [{ name: 'a' }, { name: 'b', maxUnavailable: -1 }] },
      'pools[1].maxUnavailable',
      /non-negative/,
    ],
    // As Kubernetes reads maxUnavailable: a string must be a percentage, "2" is not 2.
    [{ defaults: { maxUnavailable: '2' } }, 'defaults.maxUnavailable', /integer or a percentage/],
    [{ pools: [{}] }, 'pools[0].name', /required/],
    [{ pools: [{ name: 'a' }, { name: 'a' }] }, 'pools[1].name', /duplicate/],
    [{ pools: [{ name: 'a', selector: 'a in b' }] }, 'pools[0].selector', /unable to parse/],
    [{ defaults: { maxUnavailable: 0 } }, 'defaults.maxUnavailable', /both be 0/],
    [{ defaults: { maxUnavailable: 0, maxSurge: 1 } }, 'defaults.maxUnavailable', /strategy in-place/],
    [
      { pools: [{ name: 'a', maxUnavailable: 0, maxSurge: 2 }] },
      'pools[0].maxUnavailable',
      /at least 1 with strategy in-place/,
    ],
    [{ drain: { onTimeout: 'panic' } }, 'drain.onTimeout', /halt, skip, quarantine/],
    [{ drain: { timeout: 'forever' } }, 'drain.timeout', /duration/],
    [{ drain: { maxQuarantined: -1 } }, 'drain.maxQuarantined', /non-negative integer/],
    [{ drain: { maxQuarantined: '2' } }, 'drain.maxQuarantined', /non-negative integer/],
    [{ canary: { nodes: 1.5 } }, 'canary.nodes', /integer/],
    [
      { maintenanceWindows: [{ days: ['someday'], start: '25:00', end: '01:00' }] },
      'maintenanceWindows[0].days',
      /weekdays/,
    ],
    [
      { maintenanceWindows: [{ days: ['mon'], start: '25:00', end: '01:00' }] },
      'maintenanceWindows[0].start',
      /HH:MM/,
    ],
    [{ timings: { nodeUpgrade: 'soon' } }, 'timings.nodeUpgrade', /duration/],
    // Policies written for batches: the field that replaced it is named.
    [{ timings: { batchSoak: '1m' } }, 'timings.batchSoak', /is now waveSoak/],
    [{ pools: [{ name: 'a', batchSoak: '1m' }] }, 'pools[0].batchSoak', /is now waveSoak/],
    [{ defaults: { waveSize: 0 } }, 'defaults.waveSize', /at least 1 node/],
    [{ pools: [{ name: 'a', waveSize: '0%' }] }, 'pools[0].waveSize', /at least 1 node/],
    [{ drainn: {} }, 'drainn', /unknown field/],
    [
      { pools: [{ name: 'a', strategy: 'surge', maxSurge: 1, maxUnavailable: 0 }] },
      'pools[0].strategy',
      /surge replaces nodes: the policy needs a nodeProvider/,
    ],
    [
      { nodeProvider: { create: 'x' } },
      'nodeProvider.kind',
      /is required \(sandbox, command or cluster-api\)/,
    ],
    [
      { defaults: { strategy: 'blue-green' } },
      'defaults.strategy',
      /^blue-green replaces nodes: the policy needs a nodeProvider/,
    ],
    [{ pools: [{ name: 'a', finalSoak: 'later' }] }, 'pools[0].finalSoak', /duration/],
    [{ drain: { timout: '5m' } }, 'drain.timout', /unknown field/],
    [{ etcdBackup: { endpoints: ['10.0.0.1:2379'] } }, 'etcdBackup.endpoints', /client URLs such as https:/],
    [{ etcdBackup: { endpoints: [] } }, 'etcdBackup.endpoints', /client URLs/],
    [{ etcdBackup: { cert: '/c.crt' } }, 'etcdBackup.cert', /set both etcdBackup.cert and etcdBackup.key/],
    [{ etcdBackup: { maxAge: 'a day' } }, 'etcdBackup.maxAge', /duration/],
    [{ etcdBackup: { drill: 'yes' } }, 'etcdBackup.drill', /true or false/],
    [{ etcdBackup: { dirr: '/b' } }, 'etcdBackup.dirr', /unknown field/],
  ])('%j → error on %s', (raw, field, message) => {
    const result = validatePolicy(raw, 'p.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors.find((e) => e.field === field);
    expect(error, JSON.stringify(result.errors)).toBeDefined();
    expect(error!.message).toMatch(message);
    expect(error!.file).toBe('p.yaml');
  });

  it.each<[string, string, { field: string; line: number; column: number; message: RegExp }]>([
    [
      'a YAML syntax error on line 4 (not 1:1)',
      'canary:\n  nodes: 1\n  soak: 10m\n timeout: 5m\n',
      { field: '(file)', line: 4, column: 1, message: /^not valid YAML: [^\n]*[^:\n]$/ },
    ],
    [
      'a file cut off inside a list',
      'apiVersion: midflight.dev/v1alpha1\npools: [',
      { field: '(file)', line: 2, column: 8, message: /^not valid YAML: Flow sequence/ },
    ],
    [
      'a key given twice',
      'drain:\n  timeout: 5m\n  timeout: 6m\n',
      { field: '(file)', line: 3, column: 3, message: /Map keys must be unique/ },
    ],
    [
      'a bad value in a flow mapping',
      'canary: {nodes: 1}\ndrain: {timeout: forever}\n',
      { field: 'drain.timeout', line: 2, column: 18, message: /duration/ },
    ],
    [
      'a bad value after comments',
      '# who: platform team\n\ndefaults:\n  maxUnavailable: "lots"\n',
      { field: 'defaults.maxUnavailable', line: 4, column: 19, message: /percentage/ },
    ],
    [
      'a misspelt field',
      'drain:\n  timout: 5m\n',
      { field: 'drain.timout', line: 2, column: 11, message: /unknown field/ },
    ],
    [
      'a misspelt section',
      'canary: {}\ndrainn: {}\n',
      { field: 'drainn', line: 2, column: 1, message: /unknown field/ },
    ],
    [
      'a pool without a name (the pool is shown)',
      'pools:\n  - name: a\n  - maxUnavailable: 1\n',
      { field: 'pools[1].name', line: 3, column: 5, message: /required/ },
    ],
  ])('places %s at its line:column', (_, text, expected) => {
    const result = policyFromYaml(text, 'policy.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const { message, ...at } = expected;
    expect(result.errors[0]).toMatchObject({ file: 'policy.yaml', ...at });
    expect(result.errors[0]!.message).toMatch(message);
    expect(formatPolicyError(result.errors[0]!)).toMatch(
      new RegExp(`^policy\\.yaml:${at.line}:${at.column}: ${at.field.replace(/[.[\]()]/g, '\\$&')}: `),
    );
  });

  it('reads a policy from the data inside a plan without positions', () => {
    const result = validatePolicy({ drain: { timeout: 'forever' } }, 'plan.policy');
    expect(result).toMatchObject({ ok: false, errors: [{ field: 'drain.timeout' }] });
    if (result.ok) return;
    expect(result.errors[0]!.line).toBeUndefined();
    expect(formatPolicyError(result.errors[0]!)).toMatch(/^plan\.policy: drain\.timeout: must be a duration/);
  });
});

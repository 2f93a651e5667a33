import { describe, expect, it } from 'vitest';
import { defaultPolicy, policyFromYaml, validatePolicy } from '../../src/plan/policy.ts';

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
    batchSoak: 2m
canary: {pool: system, soak: 30m}
drain: {timeout: 20m, gracePeriodSeconds: 60, deleteEmptyDirData: true, onTimeout: quarantine}
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
      batchSoak: '2m',
    });
    expect(result.policy.maintenanceWindows[0]!.days).toEqual(['mon', 'tue']);
    expect(result.policy.drain.onTimeout).toBe('quarantine');
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
    [{ drainn: {} }, 'drainn', /unknown field/],
    [{ drain: { timout: '5m' } }, 'drain.timout', /unknown field/],
  ])('%j → error on %s', (raw, field, message) => {
    const result = validatePolicy(raw, 'p.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors.find((e) => e.field === field);
    expect(error, JSON.stringify(result.errors)).toBeDefined();
    expect(error!.message).toMatch(message);
    expect(error!.file).toBe('p.yaml');
  });

  it('reports invalid YAML with the file name', () => {
    const result = policyFromYaml('pools: [', 'bad.yaml');
    expect(result).toMatchObject({ ok: false, errors: [{ file: 'bad.yaml', field: '(file)' }] });
  });
});

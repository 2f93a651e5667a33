/**
 * Rehearsing a replacement strategy (surge, blue-green) on the demo cluster's captured snapshot: the copy's
 * pools carry templates, so the sandbox's node provisioner creates their new nodes, and a `command` node
 * provider (which would create real machines) is never run; the report says so.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ClusterSnapshot, parseVersion } from '../../src/core/index.ts';
import { validatePolicy } from '../../src/plan/index.ts';
import { poolTemplatesOf } from '../../src/rehearse/cluster-to-scenario.ts';
import { rehearsalTimings, rehearse } from '../../src/rehearse/index.ts';

function demoSnapshot(): ClusterSnapshot {
  const path = fileURLToPath(new URL('../fixtures/snapshots/demo.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as ClusterSnapshot;
}

function policyOf(data: Record<string, unknown>) {
  const result = validatePolicy(data, 'policy.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

describe('rehearse with a replacement strategy', () => {
  it('gives each worker pool a template with its shared labels, taints, capacity and zones, and no node', () => {
    const templates = poolTemplatesOf(demoSnapshot().nodes, undefined);
    const compute = templates.find((t) => t.name === 'compute')!;
    expect(templates.map((t) => t.name).sort()).toEqual(['compute', 'general']);
    expect(compute.count).toBe(0);
    expect(compute.labels['midflight.dev/pool']).toBe('compute');
    expect(compute.labels).not.toHaveProperty('kubernetes.io/hostname');
    expect(compute.labels).not.toHaveProperty('topology.kubernetes.io/zone');
    expect(compute.taints).toEqual([{ key: 'dedicated', value: 'compute', effect: 'NoSchedule' }]);
    expect(compute.zones).toEqual(['sandbox-1a', 'sandbox-1b', 'sandbox-1c']);
    expect(Number(compute.capacity.cpu)).toBeGreaterThan(0);
  });

  it.each([
    ['surge', { strategy: 'surge', maxSurge: 1, maxUnavailable: 0 }],
    ['blue-green', { strategy: 'blue-green', finalSoak: '1m' }],
  ])(
    'rehearses %s on the copy with the sandbox creating the nodes, never the command',
    async (_, pool) => {
      const dir = mkdtempSync(join(tmpdir(), 'rehearse-replace-'));
      const policy = policyOf({
        canary: { nodes: 0 },
        drain: { force: true, deleteEmptyDirData: true },
        timings: { nodeDrain: '1s', nodeUpgrade: '30s', podStartup: '5s', waveSoak: '0s' },
        provider: { kind: 'command', command: 'true' },
        pools: [{ name: 'general', ...pool }],
        nodeProvider: {
          kind: 'command',
          create: `touch ${dir}/created-{pool}-{count}`,
          delete: `touch ${dir}/deleted-{node}`,
          newNodes: { selector: 'midflight.dev/pool={pool}' },
        },
      });
      const report = await rehearse({
        snapshot: demoSnapshot(),
        target: parseVersion('v1.31.2'),
        policy,
        timings: rehearsalTimings(policy, ['nodeDrain', 'nodeUpgrade', 'podStartup']),
        runs: 1,
        seed: 3,
        now: Date.UTC(2026, 0, 15, 10),
      });
      expect(report.outcome).toMatchObject({ finishes: true });
      expect(report.violations).toBe(0);
      expect(report.nodesNotUpgraded).toEqual([]);
      // Every old general node went through the run and was replaced, not upgraded in place.
      const general = report.timeline.filter((t) => /^general-[1-4]$/.test(t.node));
      expect(general).toHaveLength(4);
      expect(general.every((t) => t.endSeconds !== null)).toBe(true);
      expect(report.notes.join('\n')).toMatch(/the command node provider is not run/);
      expect(readdirSync(dir)).toEqual([]);
    },
    300_000,
  );
});

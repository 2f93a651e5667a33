/** The README's main command: `midflight demo` upgrades the demo sandbox end to end, asking nothing. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

describe('midflight demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'midflight-demo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows inventory, preflight and plan, then upgrades every node with no budget broken', async () => {
    const { code, stdout, stderr } = await runCli(
      'demo',
      '-o',
      'json',
      '--time-scale',
      '60',
      '--kubeconfig-out',
      join(dir, 'kubeconfig'),
      '--state',
      join(dir, 'state.db'),
    );
    // stdout carries only the run's events; the person's view (inventory, preflight, plan) is on stderr.
    const events = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const finished = events.at(-1);
    expect(finished).toMatchObject({ type: 'run-finished', state: 'succeeded' });
    expect(code).toBe(0);
    expect(finished.summary.nodes.upgraded).toHaveLength(10);
    expect(finished.summary.phases.map((p: { kind: string }) => p.kind)).toEqual([
      'preflight',
      'etcd-backup',
      'control-plane',
      'canary',
      'node-pool',
      'node-pool',
      'addons',
      'validation',
    ]);
    expect(stderr).toMatch(/== Inventory[\s\S]*== Preflight[\s\S]*0 blockers[\s\S]*== Plan[\s\S]*== Apply/);
    expect(stderr).toMatch(/Disruption budgets: never broken/);
  }, 180_000);
});

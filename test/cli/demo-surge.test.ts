/**
 * `midflight demo --surge` (issue 14): the demo's general pool is replaced instead of upgraded in place —
 * new nodes through the sandbox's node group API, each Ready before an old node is cordoned, the old ones
 * drained and deleted — in the same end-to-end run, with no budget broken.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

describe('midflight demo --surge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'midflight-demo-surge-'));
  const home = process.env.HOME;
  // The default state store is ~/.midflight/state.db: a HOME of our own keeps the user's store untouched.
  beforeAll(() => {
    process.env.HOME = dir;
  });
  afterAll(() => {
    process.env.HOME = home;
    rmSync(dir, { recursive: true, force: true });
  });

  it('replaces the general pool with new nodes and upgrades the rest in place, no budget broken', async () => {
    const { code, stdout, stderr } = await runCli(
      'demo',
      '--surge',
      '-o',
      'json',
      '--time-scale',
      '60',
      '--kubeconfig-out',
      join(dir, 'kubeconfig'),
    );
    const events = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const finished = events.at(-1);
    expect(finished, stderr.slice(-2000)).toMatchObject({ type: 'run-finished', state: 'succeeded' });
    expect(code).toBe(0);
    expect(stderr).toMatch(/Replace \d nodes \(general\) with new nodes at v1\.31/);
    const replaced = events
      .filter((e) => e.type === 'log' && /^replaced general-\d+ with general-\d+ at v1\.31/.test(e.message))
      .map((e) => e.message.split(' ')[1])
      .sort();
    expect(replaced).toEqual(['general-1', 'general-2', 'general-3', 'general-4']);
    expect(stderr).toMatch(/Disruption budgets: never broken/);
  }, 600_000);
});

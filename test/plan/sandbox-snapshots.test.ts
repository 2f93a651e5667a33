/**
 * The golden plans of the built-in sandbox scenarios are planned from captured snapshots
 * (test/fixtures/snapshots/<scenario>.json). This test captures them again, from a sandbox started on a
 * virtual clock and read over HTTP, and fails when the sandbox no longer serves what the file holds, so a
 * changed scenario cannot leave its golden plan describing a cluster that no longer exists.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { captureSandboxSnapshot } from '../fixtures/snapshots/sandbox-snapshot.ts';
import { SANDBOX_SCENARIOS } from '../fixtures/snapshots/scenarios.ts';

describe.each(SANDBOX_SCENARIOS)('captured snapshot of the $name scenario', ({ name }) => {
  it('is what the sandbox serves now (else recapture it and update the goldens)', async () => {
    const path = fileURLToPath(new URL(`../fixtures/snapshots/${name}.json`, import.meta.url));
    const captured = await captureSandboxSnapshot(name);
    expect(
      captured,
      `stale ${path}: run npx tsx test/fixtures/snapshots/capture-sandbox-snapshots.ts ${name}, ` +
        'then UPDATE_GOLDEN=1 npx vitest run test/plan/planner.test.ts, and review both diffs',
    ).toEqual(JSON.parse(readFileSync(path, 'utf8')));
  }, 60_000);
});

/**
 * Usage mistakes a new user makes, answered with what was wrong and what to do, before anything is read
 * or written: no cluster is needed for any of them.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'midflight-messages-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('usage mistakes', () => {
  it.each([
    ['plan', ['plan', '--too', '1.31']],
    ['preflight', ['preflight', '--too', '1.31']],
    ['sandbox upgrade-node', ['sandbox', 'upgrade-node', 'general-1', '--too', 'v1.31.2']],
  ])('%s names a misspelt flag, not the required one it hides', async (_, args) => {
    const { code, stderr } = await runCli(...args);
    expect(stderr).toMatch(/^error: unknown option '--too'\n\(Did you mean --to\?\)/);
    expect(stderr).not.toMatch(/required option/);
    expect(code).toBe(2);
  });

  it('still says when a required flag is missing', async () => {
    const { code, stderr } = await runCli('plan');
    expect(stderr).toMatch(/^error: required option '--to <version>' not specified\n/);
    expect(code).toBe(2);
  });

  it('a bare apply says what apply needs', async () => {
    const { code, stderr } = await runCli('apply');
    expect(stderr).toBe(
      'error: apply needs a plan file (`midflight plan --to VERSION -o yaml --out plan.yaml` writes one) or ' +
        '--to VERSION to plan, review and apply in one go\n',
    );
    expect(code).toBe(2);
  });

  it('apply with both a plan file and --to says which to drop', async () => {
    const { code, stderr } = await runCli('apply', 'plan.yaml', '--to', '1.31');
    expect(stderr).toBe(
      'error: give a plan file or --to, not both: the plan plan.yaml already names its target version\n',
    );
    expect(code).toBe(2);
  });
});

describe('a state store that is not there', () => {
  it.each([
    ['status', []],
    ['pause', ['run-1']],
    ['resume', ['run-1']],
    ['abort', ['run-1']],
    ['rollback', ['run-1', '--dry-run']],
  ])('%s says so and does not create it', async (command, args) => {
    const missing = join(dir, `${command}.db`);
    // A kubeconfig for the commands that would act on a cluster: the store is checked before it is used.
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]\n' +
        'contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {}}]\n',
    );
    const { code, stderr } = await runCli('--kubeconfig', kubeconfig, command, ...args, '--state', missing);
    expect(stderr).toBe(
      `error: no state store at ${missing}: \`midflight apply\` creates it with its first run; --state names another store\n`,
    );
    expect(code).toBe(2);
    expect(existsSync(missing)).toBe(false);
  });

  it('history lists no runs, says why on stderr, and does not create it', async () => {
    const missing = join(dir, 'history.db');
    const table = await runCli('history', '--state', missing);
    expect(table).toEqual({
      code: 0,
      stdout: 'No runs in this state store yet.\n',
      stderr: `no state store at ${missing} yet: \`midflight apply\` creates it with its first run\n`,
    });
    expect((await runCli('history', '--state', missing, '-o', 'json')).stdout).toBe('[]\n');
    expect(existsSync(missing)).toBe(false);
  });
});

/**
 * With no $KUBECONFIG, no ~/.kube/config and no service account, the commands that read a cluster say so
 * (as kubectl does) and exit 2, instead of trying http://localhost:8080.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_ACCOUNT_TOKEN } from '../../src/kube/client.ts';
import { runCli } from './run-cli.ts';

describe.skipIf(existsSync(SERVICE_ACCOUNT_TOKEN))('commands without any kubeconfig', () => {
  const saved = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG };
  let home: string;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'midflight-empty-home-'));
    process.env.HOME = home;
    delete process.env.KUBECONFIG;
  });

  afterAll(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(home, { recursive: true, force: true });
  });

  it.each([['inventory'], ['preflight', '--to', '1.31'], ['plan', '--to', '1.31']])(
    '%s exits 2 with one line naming what was looked for',
    async (...args) => {
      const result = await runCli(...args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `error: no kubeconfig: set KUBECONFIG, pass --kubeconfig FILE, or create ~/.kube/config (${join(home, '.kube', 'config')} does not exist, and this is not a pod with a service account)\n`,
      );
    },
  );
});

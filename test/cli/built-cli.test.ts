/**
 * The command as npm installs it: `npm run build` output run by bin/midflight.js with no compiler around.
 * The package is assembled in a temporary folder (package.json, bin/, a fresh build in dist/, and a
 * node_modules holding every installed package except tsx, esbuild and typescript), so a runtime import
 * of the compiler, or a data file the build forgot, fails here.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../e2e/sandbox-harness.ts';
import { startCluster, WORKERS_CLUSTER } from '../engine/engine-harness.ts';

const ROOT = join(import.meta.dirname, '../..');
const COMPILERS = new Set(['tsx', 'esbuild', '@esbuild', 'typescript', '.bin']);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function node(args: string[]): Promise<Run> {
  // Note: without MIDFLIGHT_SOURCE and MIDFLIGHT_DIST (which the test run sets) the launcher runs dist/, as installed.
  const { MIDFLIGHT_SOURCE: _, MIDFLIGHT_DIST: __, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('the built command', () => {
  let dir: string;
  let bin: string;
  let sandbox: RunningSandbox;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midflight-built-'));
    const pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'node_modules'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    cpSync(join(ROOT, 'bin'), join(pkg, 'bin'), { recursive: true });
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (!COMPILERS.has(name))
        symlinkSync(join(ROOT, 'node_modules', name), join(pkg, 'node_modules', name));
    }
    const build = await node([join(ROOT, 'scripts/build.js'), '--out-dir', join(pkg, 'dist')]);
    expect(build.stderr).toBe('');
    expect(build.code).toBe(0);
    bin = join(pkg, 'bin/midflight.js');
    sandbox = await startCluster(WORKERS_CLUSTER);
  }, 240_000);

  afterAll(async () => {
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints its version', async () => {
    const { code, stdout } = await node([bin, '--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("finds the sandbox's built-in scenarios, which are YAML files beside the code", async () => {
    const { code, stdout } = await node([bin, 'sandbox', 'scenarios']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^demo\s/m);
    expect(stdout).toMatch(/^pdb-deadlock\s/m);
  });

  it('reads a cluster', async () => {
    const { code, stdout, stderr } = await node([bin, 'inventory', '--kubeconfig', sandbox.kubeconfigPath]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('general-1');
  });

  it('says how to build it when dist/ is missing', async () => {
    const bare = join(dir, 'bare');
    cpSync(join(ROOT, 'bin'), join(bare, 'bin'), { recursive: true });
    const { code, stderr } = await node([join(bare, 'bin/midflight.js'), '--version']);
    expect(code).toBe(1);
    expect(stderr).toBe('error: midflight is not built: run `npm run build` (or `npm ci`) in its folder\n');
  });
});

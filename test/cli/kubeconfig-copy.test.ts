/** The private kubeconfig copy: in the state directory, owner-only, and stale copies of dead processes swept. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeKubeconfigCopy } from '../../src/cli/kubeconfig-copy.ts';

describe('writeKubeconfigCopy', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'midflight-copy-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const kc = () => {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://10.0.0.1:6443', skipTLSVerify: false }],
      users: [{ name: 'u', token: 'secret-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return config;
  };

  it('writes an owner-only copy beside the state store, deletes copies of dead processes, keeps the rest', () => {
    const copies = join(dir, 'kubeconfigs');
    mkdirSync(copies);
    // A process that has exited: its pid names nobody (reuse within this test is not a concern).
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(copies, `${deadPid}-0badc0de.kubeconfig`), 'token: left-by-a-killed-run');
    writeFileSync(join(copies, `${process.pid}-00000001.kubeconfig`), 'token: this process, another run');
    writeFileSync(join(copies, 'notes.txt'), 'not ours to delete');

    const copy = writeKubeconfigCopy(kc(), join(dir, 'state.db'));
    expect(copy.path.startsWith(`${copies}/${process.pid}-`)).toBe(true);
    expect(statSync(copy.path).mode & 0o777).toBe(0o600);
    expect(statSync(copies).mode & 0o777).toBe(0o700);
    expect(readdirSync(copies).sort()).toEqual(
      [`${process.pid}-00000001.kubeconfig`, copy.path.slice(copies.length + 1), 'notes.txt'].sort(),
    );

    copy.remove();
    expect(existsSync(copy.path)).toBe(false);
  });
});

import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdCluster, requireBinary, startEtcdCluster } from '../e2e/etcd-harness.ts';
import { runCli } from './run-cli.ts';

const hasEtcd = requireBinary('etcd', 'etcd-server') && requireBinary('etcdctl', 'etcd-client');

describe.skipIf(!hasEtcd)('midflight backup, against a real etcd', () => {
  let cluster: EtcdCluster;
  let dir: string;
  let file: string;
  beforeAll(async () => {
    cluster = await startEtcdCluster({ members: 1 });
    dir = mkdtempSync(join(tmpdir(), 'midflight-backup-cli-'));
    for (const k of ['a', 'b', 'c'])
      await cluster.client('etcd-0').put(`/registry/configmaps/default/${k}`, k);
    const saved = await runCli(
      'backup',
      'save',
      '--endpoints',
      cluster.endpoints[0]!,
      '--to',
      dir,
      '-o',
      'json',
    );
    expect(saved.stderr).toBe('');
    expect(saved.code).toBe(0);
    file = JSON.parse(saved.stdout).file;
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('saves, verifies, drills and lists, saying what it did', async () => {
    const verify = await runCli('backup', 'verify', file);
    expect(verify).toMatchObject({ code: 0, stderr: '' });
    expect(verify.stdout).toMatch(/^OK .*etcd-\d{8}T\d{6}Z\.db: .* sha256 [0-9a-f]{64}/);
    const drill = await runCli('backup', 'drill', file, '--sample', '2');
    expect(drill.stderr).toBe('');
    expect(drill.code).toBe(0);
    expect(drill.stdout).toContain('DRILL PASSED');
    expect(drill.stdout).toMatch(
      /3 keys; e\.g\. \/registry\/configmaps\/default\/a, \/registry\/configmaps\/default\/b/,
    );
    const list = await runCli('backup', 'list', dir, '-o', 'json');
    const [entry] = JSON.parse(list.stdout);
    expect(entry.file).toBe(file);
    expect(entry.metadata.keys).toBe(3);
    expect(entry.metadata.verifiedAt).toBeDefined();
    expect(entry.metadata.drilledAt).toBeDefined();
    expect((await runCli('backup', 'list', dir)).stdout).toMatch(
      /^SNAPSHOT\s+TAKEN\s+SIZE\s+REVISION\s+KEYS/,
    );
  }, 120_000);

  it('rejects an altered snapshot with its reason and exit code 1', async () => {
    const copy = join(dir, 'altered.db');
    copyFileSync(file, copy);
    copyFileSync(`${file}.json`, `${copy}.json`);
    const bytes = readFileSync(copy);
    bytes[100]! ^= 0x01;
    writeFileSync(copy, bytes);
    const verify = await runCli('backup', 'verify', copy);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^REJECTED .*altered\.db:\n {2}- .*integrity hash does not match/);
    const drill = await runCli('backup', 'drill', copy);
    expect(drill.code).toBe(1);
    expect(drill.stderr).toMatch(/^error: .*altered\.db: not drilled: the snapshot does not verify/);
    rmSync(copy);
    rmSync(`${copy}.json`);
  });

  it.each([
    { args: ['backup', 'save', '--to', '/tmp/x'], code: 2, says: /no etcd endpoint: pass --endpoints/ },
    {
      args: ['backup', 'save', '--endpoints', 'ftp://x:1'],
      code: 2,
      says: /must be http:\/\/ or https:\/\//,
    },
    {
      args: ['backup', 'save', '--endpoints', 'x:1', '--cert', 'c.crt'],
      code: 2,
      says: /give both --cert and --key/,
    },
    {
      args: ['backup', 'prune', '/tmp/none'],
      code: 2,
      says: /say what to keep: --keep-last N and\/or --max-age/,
    },
    {
      args: ['backup', 'prune', '--keep-last', '0'],
      code: 2,
      says: /--keep-last must be a whole number of at least 1/,
    },
    {
      args: ['backup', 'verify', '/nonexistent.db'],
      code: 1,
      says: /\/nonexistent\.db: no such snapshot file/,
    },
    { args: ['backup', 'restore', '/x.db'], code: 2, says: /required option '--data-dir <dir>'/ },
  ])('refuses $args with exit $code', async ({ args, code, says }) => {
    const result = await runCli(...args);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(says);
  });

  it('names the endpoint it could not reach', async () => {
    const result = await runCli('backup', 'save', '--endpoints', '127.0.0.1:1', '--to', join(dir, 'none'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /no etcd member could give a snapshot: etcd http:\/\/127\.0\.0\.1:1: read the member status: .*ECONNREFUSED/,
    );
  });

  it('prunes to the newest, and a dry run removes nothing', async () => {
    await runCli('backup', 'save', '--endpoints', cluster.endpoints[0]!, '--to', dir);
    const dry = await runCli('backup', 'prune', dir, '--keep-last', '1', '--dry-run', '-o', 'json');
    expect(JSON.parse(dry.stdout).removed.map((e: { file: string }) => e.file)).toEqual([file]);
    expect(JSON.parse((await runCli('backup', 'list', dir, '-o', 'json')).stdout)).toHaveLength(2);
    const pruned = await runCli('backup', 'prune', dir, '--keep-last', '1');
    expect(pruned.stdout).toContain(`Removed 1 snapshot(s):\n  ${file}`);
    expect(JSON.parse((await runCli('backup', 'list', dir, '-o', 'json')).stdout)).toHaveLength(1);
  });
});

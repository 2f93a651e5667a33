import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveBackup, verifyBackup } from '../../src/backup/index.ts';
import { RealClock } from '../../src/core/index.ts';
import { EtcdClient, EtcdError, type EtcdProcess, startEtcd } from '../../src/etcd/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { requireBinary } from '../e2e/etcd-harness.ts';
import { type EtcdTlsFiles, makeEtcdTls } from '../e2e/etcd-tls.ts';

/** etcd as kubeadm runs it: clients over TLS, with a certificate its CA signed. */
describe.skipIf(!requireBinary('etcd', 'etcd-server'))('etcd over TLS with client certificates', () => {
  let dir: string;
  let tls: EtcdTlsFiles;
  let member: EtcdProcess;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midflight-etcd-tls-'));
    tls = await makeEtcdTls(dir);
    member = await startEtcd({ name: 'secure', dataDir: join(dir, 'data'), tls });
    await member.client().put('/registry/secrets/kube-system/token', 'x');
  }, 120_000);
  afterAll(async () => {
    await member?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('saves and verifies a snapshot with --cacert, --cert and --key', async () => {
    expect(member.clientUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const saved = await saveBackup({
      endpoints: [member.clientUrl],
      tls: { cacert: tls.ca, cert: tls.clientCert, key: tls.clientKey },
      dir: join(dir, 'backups'),
      clock: new RealClock(),
    });
    expect(saved.metadata.keys).toBe(1);
    expect((await verifyBackup({ file: saved.file })).ok).toBe(true);
    const cli = await runCli(
      ...['backup', 'save', '--endpoints', `127.0.0.1:${member.clientPort}`, '--to', join(dir, 'cli')],
      ...['--cacert', tls.ca, '--cert', tls.clientCert, '--key', tls.clientKey, '-o', 'json'],
    );
    expect(cli.stderr).toBe('');
    expect(JSON.parse(cli.stdout).metadata.member.endpoint).toBe(member.clientUrl);
  });

  it.each([
    [
      'a server certificate from a CA not trusted',
      () => ({ cacert: tls.otherCa, cert: tls.clientCert, key: tls.clientKey }),
    ],
    ['no client certificate', () => ({ cacert: tls.ca })],
  ])('refuses %s, naming the endpoint; asking again will not help', async (_, tlsOf) => {
    const error = await new EtcdClient({ endpoint: member.clientUrl, tls: tlsOf() })
      .status()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EtcdError);
    expect((error as EtcdError).message).toContain(`etcd ${member.clientUrl}: read the member status:`);
    expect((error as EtcdError).retryable).toBe(false);
  });
});

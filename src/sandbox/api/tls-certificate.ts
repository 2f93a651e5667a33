import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface TlsCertificate {
  certPem: string;
  keyPem: string;
}

let cached: Promise<TlsCertificate> | undefined;

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made with the `openssl` CLI (present on every
 * machine the project runs on) and shared by every server of the process. Clients trust it via the PEM that
 * `ApiServer.listen` returns, or skip verification.
 */
export function selfSignedCertificate(): Promise<TlsCertificate> {
  cached ??= generate().catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function generate(): Promise<TlsCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'midflight-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '365',
      '-subj',
      '/CN=midflight-sandbox',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ]);
    return { certPem: await readFile(certPath, 'utf8'), keyPem: await readFile(keyPath, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

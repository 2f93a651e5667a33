import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const openssl = (...args: string[]) => promisify(execFile)('openssl', args);
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface EtcdTlsFiles {
  /** The CA that signed the server and client certificates. */
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: trusting it instead must fail. */
  otherCa: string;
}

/**
 * A small PKI in `dir`, shaped like kubeadm's for etcd: a CA, a serving certificate for 127.0.0.1 and a
 * client certificate it signed, made with the openssl CLI (as the sandbox makes its own certificate).
 */
export async function makeEtcdTls(dir: string): Promise<EtcdTlsFiles> {
  const f = (name: string) => join(dir, name);
  for (const ca of ['ca', 'other-ca'])
    await openssl(
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      f(`${ca}.key`),
      '-out',
      f(`${ca}.crt`),
      '-days',
      '2',
      '-subj',
      `/CN=${ca}`,
    );
  const sign = async (name: string, extensions: string) => {
    writeFileSync(f(`${name}.ext`), extensions);
    await openssl(
      'req',
      ...EC_KEY,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
      '-subj',
      `/CN=${name}`,
    );
    await openssl(
      ...[
        'x509',
        '-req',
        '-in',
        f(`${name}.csr`),
        '-CA',
        f('ca.crt'),
        '-CAkey',
        f('ca.key'),
        '-CAcreateserial',
      ],
      ...['-out', f(`${name}.crt`), '-days', '2', '-extfile', f(`${name}.ext`)],
    );
  };
  await sign('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  await sign('client', 'extendedKeyUsage=clientAuth\n');
  return {
    ca: f('ca.crt'),
    cert: f('server.crt'),
    key: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    otherCa: f('other-ca.crt'),
  };
}

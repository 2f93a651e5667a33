/**
 * The keep-alive agent of a KubeConfig is shared by requests whose agent options are the same, and only by
 * them: options that differ in a certificate's bytes (a refreshed client certificate) get their own agent.
 */
import https from 'node:https';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { sameAgentOptions, shareConnections } from '../../src/kube/shared-connections.ts';
import { selfSignedCertificate, type TlsCertificate } from '../../src/sandbox/api/tls-certificate.ts';

describe('sameAgentOptions', () => {
  const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  it.each([
    [
      'the same CA bytes in another Buffer',
      { ca, rejectUnauthorized: true },
      { ca: Buffer.from(ca), rejectUnauthorized: true },
      true,
    ],
    ['another client certificate', { ca, cert: Buffer.from('one') }, { ca, cert: Buffer.from('two') }, false],
    ['another servername', { ca, servername: 'a' }, { ca, servername: 'b' }, false],
    ['a CA given as a list of Buffers, same bytes', { ca: [ca] }, { ca: [Buffer.from(ca)] }, true],
    ['a CA given as a list of Buffers, other bytes', { ca: [ca] }, { ca: [Buffer.from('x')] }, false],
    ['a CA as text, the same', { ca: 'PEM' }, { ca: 'PEM' }, true],
    ['a CA as text against the same bytes in a Buffer', { ca: 'PEM' }, { ca: Buffer.from('PEM') }, false],
    ['an option only one of them sets', { ca }, { ca, servername: 'a' }, false],
    [
      'options set to undefined, as good as not set',
      { ca, timeout: undefined },
      { ca, servername: undefined },
      true,
    ],
    ['an option set in one, undefined in the other', { ca, timeout: 5 }, { ca, timeout: undefined }, false],
    ['nested options, the same', { ca, x: { y: 1 } }, { ca, x: { y: 1 } }, true],
    ['nested options, other', { ca, x: { y: 1 } }, { ca, x: { y: 2 } }, false],
  ])('%s: same agent %s', (_, a, b, same) => {
    expect(sameAgentOptions(a, b)).toBe(same);
    expect(sameAgentOptions(b, a)).toBe(same);
  });
});

describe('shareConnections', () => {
  const kubeconfig = (pem: TlsCertificate, certPem: string) => {
    const kc = new KubeConfig();
    const base64 = (text: string) => Buffer.from(text).toString('base64');
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: base64(pem.certPem) }],
      users: [{ name: 'u', certData: base64(certPem), keyData: base64(pem.keyPem) }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  };
  const agentOf = async (kc: KubeConfig) => {
    const opts: { agent?: unknown } = {};
    await kc.applyToHTTPSOptions(opts);
    return opts.agent;
  };

  it('gives every request of a KubeConfig one keep-alive agent, until its credentials change', async () => {
    const pem = await selfSignedCertificate();
    const kc = shareConnections(kubeconfig(pem, pem.certPem));
    const first = await agentOf(kc);
    expect(first).toBeInstanceOf(https.Agent);
    expect((first as https.Agent & { keepAlive: boolean }).keepAlive).toBe(true);
    expect(await agentOf(kc)).toBe(first);
    const context = new RequestContext('https://127.0.0.1:6443/api/v1/nodes', HttpMethod.GET);
    await kc.applySecurityAuthentication(context);
    expect(context.getAgent()).toBe(first);

    // A refreshed client certificate: the kubeconfig now holds other bytes.
    const refreshed = kubeconfig(pem, `${pem.certPem}\n`).users[0]!;
    kc.users[0] = refreshed;
    const second = await agentOf(kc);
    expect(second).not.toBe(first);
    expect(await agentOf(kc)).toBe(second);
  });
});

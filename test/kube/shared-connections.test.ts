/**
 * The keep-alive agent of a KubeConfig is shared by requests whose agent options are the same, and only by
 * them: options that differ in a certificate's bytes (a refreshed client certificate) get their own agent.
 */
import { describe, expect, it } from 'vitest';
import { agentKey } from '../../src/kube/shared-connections.ts';

describe('agentKey', () => {
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
  ])('%s: same agent %s', (_, a, b, same) => {
    expect(agentKey(a) === agentKey(b)).toBe(same);
  });
});

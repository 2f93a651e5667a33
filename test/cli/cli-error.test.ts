/** How the run commands turn a failure into one line: the one failure classification decides the hint. */
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/errors.ts';
import { cliErrorOf } from '../../src/cli/run-session.ts';
import { KubeOperationError } from '../../src/kube/api-failure.ts';

const status = (code: number) =>
  new ApiException(
    code,
    'failed',
    JSON.stringify({ kind: 'Status', code, message: 'etcd leader changed' }),
    {},
  );
const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' });

describe('cliErrorOf', () => {
  it.each([
    [
      'a 503 while reading a node',
      new KubeOperationError('read node general-1', status(503)),
      'read node general-1: etcd leader changed (HTTP 503) (a temporary failure: trying again may help)',
    ],
    [
      'a refused connection',
      new KubeOperationError('read node general-1', refused),
      'read node general-1: connect ECONNREFUSED 10.0.0.1:6443 (no answer) (a temporary failure: trying again may help)',
    ],
  ])('%s: one line that says trying again may help', (_, err, message) => {
    const mapped = cliErrorOf(err);
    expect(mapped).toBeInstanceOf(CliError);
    expect((mapped as CliError).message).toBe(message);
  });

  it.each([
    ['a 403', new KubeOperationError('patch node general-1', status(403))],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'spec')")],
  ])('%s: shown as it is, with no promise that trying again helps', (_, err) => {
    expect(cliErrorOf(err)).toBe(err);
  });
});

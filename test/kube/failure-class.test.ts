/**
 * One classification of failures for every caller: the table pins it, and the two readings of a failed
 * Kubernetes request (the read-only commands' KubeError and the engine's KubeOperationError) agree with it.
 */
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { FailureClass } from '../../src/core/failure-class.ts';
import { HookFailedError, PlanRejectedError, StepFailedError } from '../../src/engine/index.ts';
import { classifyFailure, KubeOperationError } from '../../src/kube/api-failure.ts';
import { kubeErrorOf } from '../../src/kube/errors.ts';
import { ProviderError } from '../../src/providers/index.ts';

const context = { server: 'https://10.0.0.1:6443', operation: 'listing pods' };
const status = (code: number, reason = '') =>
  new ApiException(code, 'failed', JSON.stringify({ kind: 'Status', code, reason, message: 'm' }), {});
const network = (code: string) =>
  Object.assign(new Error(`request failed, reason: ${code}`), { code, type: 'system' });

describe('classifyFailure: a Kubernetes request that failed', () => {
  it.each<[string, unknown, FailureClass]>([
    ['409 Conflict', status(409, 'Conflict'), 'conflict'],
    ['429 Too Many Requests', status(429, 'TooManyRequests'), 'transient'],
    ['500 Internal Server Error', status(500), 'transient'],
    ['503 Service Unavailable', status(503), 'transient'],
    ['504 Gateway Timeout', status(504), 'transient'],
    ['501 Not Implemented', status(501), 'permanent'],
    ['400 Bad Request', status(400, 'BadRequest'), 'permanent'],
    ['401 Unauthorized', status(401), 'permanent'],
    ['403 Forbidden', status(403), 'permanent'],
    ['404 Not Found', status(404, 'NotFound'), 'permanent'],
    ['410 Gone', status(410, 'Expired'), 'permanent'],
    ['422 Invalid', status(422, 'Invalid'), 'permanent'],
    // The API server restarting during a control-plane upgrade refuses connections for a few seconds.
    ['a refused connection', network('ECONNREFUSED'), 'transient'],
    ['a reset connection', network('ECONNRESET'), 'transient'],
    ['a timeout', network('ETIMEDOUT'), 'transient'],
    ['a slow name server', network('EAI_AGAIN'), 'transient'],
    ['an unknown host', network('ENOTFOUND'), 'permanent'],
    ['a certificate the CA does not vouch for', network('DEPTH_ZERO_SELF_SIGNED_CERT'), 'permanent'],
    ['an expired certificate', network('CERT_HAS_EXPIRED'), 'permanent'],
  ])('%s is %s, for every reading of it', (_, err, expected) => {
    expect(classifyFailure(err)).toBe(expected);
    expect(new KubeOperationError('list pods', err).failureClass).toBe(expected);
    expect(kubeErrorOf(err, context).failureClass).toBe(expected);
    expect(classifyFailure(kubeErrorOf(err, context))).toBe(expected);
    expect(classifyFailure(new KubeOperationError('list pods', err))).toBe(expected);
  });
});

describe('classifyFailure: anything else', () => {
  it.each<[string, unknown, FailureClass]>([
    // Unknown failures are permanent: retrying a bug hides it and may repeat what it broke.
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'x')"), 'permanent'],
    ['a plain Error', new Error('something odd'), 'permanent'],
    [
      'an error with an unknown code',
      Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' }),
      'permanent',
    ],
    ['a thrown string', 'boom', 'permanent'],
    ['undefined', undefined, 'permanent'],
    [
      'an error declaring an unknown class',
      Object.assign(new Error('x'), { failureClass: 'maybe' }),
      'permanent',
    ],
    ['a failed upgrade attempt', new ProviderError('upgrade of n failed', 'n'), 'transient'],
    ['a provider misconfiguration', new ProviderError('bad command', 'n', [], false), 'permanent'],
    ['a hook that exited non-zero', new HookFailedError('pre.all', 3, 'hook failed', []), 'transient'],
    [
      'a hook that could not start',
      new HookFailedError('pre.all', null, 'could not run', [], { failureClass: 'permanent' }),
      'permanent',
    ],
    ['a resumable step failure', new StepFailedError('s', 'n', 'failed', true), 'transient'],
    ['a step that needs a change first', new StepFailedError('s', 'n', 'halted', false), 'permanent'],
    ['a refused plan', new PlanRejectedError('edited', 'edited'), 'permanent'],
  ])('%s is %s', (_, err, expected) => {
    expect(classifyFailure(err)).toBe(expected);
  });
});

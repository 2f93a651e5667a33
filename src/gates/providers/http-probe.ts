/** The `http` provider: GET a URL; its body is a number, or JSON holding one in `field`. */

import { numberFromText } from '../measurement.ts';
import { httpRequest } from './http-request.ts';

export async function measureHttp(
  url: string,
  field: string | undefined,
  timeoutMs: number,
): Promise<number> {
  const answer = await httpRequest({ method: 'GET', url, timeoutMs });
  if (answer.status < 200 || answer.status > 299)
    throw new Error(`GET ${url} answered ${answer.status}: ${answer.body.slice(0, 120)}`);
  return numberFromText(answer.body, field, `the answer of ${url}`);
}

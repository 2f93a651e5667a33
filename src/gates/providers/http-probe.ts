/**
 * The `http` provider: GET a URL; its body is a number, or JSON holding one in `field`. Headers come from the
 * gate's `http.headers` (a value, a file read before each request, or an environment variable), and the
 * server is trusted through `http.caFile` (or not checked, with `insecureSkipVerify`).
 *
 * IMPORTANT: a header's value never appears in an error (they are stored, logged and shown): errors name the
 * header, its file or its variable.
 */
import type { HeaderSource, HttpGateSettings } from '../gate-types.ts';
import { numberFromText } from '../measurement.ts';
import { httpRequest } from './http-request.ts';
import { readSecretFile } from './secret-file.ts';

export interface HttpProbeOptions {
  url: string;
  field?: string;
  timeoutMs: number;
  settings?: HttpGateSettings;
}

export async function measureHttp(options: HttpProbeOptions): Promise<number> {
  const { url, settings } = options;
  const headers: Record<string, string> = {};
  for (const [name, source] of Object.entries(settings?.headers ?? {}))
    headers[name.toLowerCase()] = await headerValue(name, source);
  const ca = settings?.caFile ? await readSecretFile(settings.caFile, 'http.caFile') : undefined;
  const answer = await httpRequest({
    method: 'GET',
    url,
    headers,
    timeoutMs: options.timeoutMs,
    ca,
    rejectUnauthorized: settings?.insecureSkipVerify !== true,
  });
  if (answer.status === 401 || answer.status === 403)
    throw new Error(
      `GET ${url} answered ${answer.status}: it refused the request's credentials${
        settings?.headers
          ? ` (http.headers: ${Object.keys(settings.headers).join(', ')})`
          : ' (the gate sends no http.headers)'
      }`,
    );
  if (answer.status < 200 || answer.status > 299)
    throw new Error(`GET ${url} answered ${answer.status}: ${answer.body.slice(0, 120)}`);
  return numberFromText(answer.body, options.field, `the answer of ${url}`);
}

async function headerValue(name: string, source: HeaderSource): Promise<string> {
  if ('value' in source) return source.value;
  if ('file' in source) {
    // A file written by an editor ends with a line break, which is no part of the value.
    const text = (await readSecretFile(source.file, `http.headers.${name} file`)).replace(/\r?\n$/, '');
    if (/[\r\n]/.test(text))
      throw new Error(
        `http.headers.${name}: the file ${source.file} holds more than one line; it must hold the value alone`,
      );
    return text;
  }
  const text = process.env[source.env];
  if (!text)
    throw new Error(`http.headers.${name}: the environment variable ${source.env} is not set (or empty)`);
  if (/[\r\n]/.test(text))
    throw new Error(`http.headers.${name}: the environment variable ${source.env} holds a line break`);
  return text;
}

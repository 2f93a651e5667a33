/**
 * Prometheus' HTTP query API (`POST <url>/api/v1/query`), which Thanos, Mimir and VictoriaMetrics speak
 * too. A gate's PromQL must come down to one number: a scalar, or an instant vector of exactly one series.
 */
import type { PrometheusSettings } from '../gate-types.ts';
import { NoDataError, numberFrom } from '../measurement.ts';
import { httpRequest } from './http-request.ts';
import { readSecretFile } from './secret-file.ts';

interface QueryAnswer {
  status?: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/**
 * The query's value now. Throws NoDataError for an empty result or NaN, and Error (with the server's own
 * words) for everything else: unreachable, refused credentials, bad PromQL, several series.
 */
export async function queryPrometheus(
  settings: PrometheusSettings,
  promql: string,
  timeoutMs: number,
): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  // Note: the credentials are read before each query, so a rotated token or password is picked up.
  if (settings.bearerTokenFile)
    headers.authorization = `Bearer ${(await readSecretFile(settings.bearerTokenFile, 'prometheus.bearerTokenFile')).trim()}`;
  if (settings.basicAuth) {
    const password = (
      await readSecretFile(settings.basicAuth.passwordFile, 'prometheus.basicAuth.passwordFile')
    ).replace(/\r?\n$/, '');
    headers.authorization = `Basic ${Buffer.from(`${settings.basicAuth.username}:${password}`).toString('base64')}`;
  }
  const ca = settings.caFile ? await readSecretFile(settings.caFile, 'prometheus.caFile') : undefined;
  const url = `${settings.url.replace(/\/+$/, '')}/api/v1/query`;
  const answer = await httpRequest({
    method: 'POST',
    url,
    headers,
    body: new URLSearchParams({ query: promql }).toString(),
    timeoutMs,
    ca,
    rejectUnauthorized: settings.insecureSkipVerify !== true,
  });
  if (answer.status === 401 || answer.status === 403)
    throw new Error(
      `${url} answered ${answer.status}: it refused the credentials (prometheus.bearerTokenFile or prometheus.basicAuth): ${answer.body.trim().slice(0, 120)}`,
    );
  let parsed: QueryAnswer;
  try {
    parsed = JSON.parse(answer.body) as QueryAnswer;
  } catch {
    throw new Error(
      `${url} answered ${answer.status} with something that is not the query API's JSON: ${answer.body.slice(0, 120)}`,
    );
  }
  if (parsed.status !== 'success')
    throw new Error(
      `prometheus refused the query (${answer.status} ${parsed.errorType ?? 'error'}): ${parsed.error ?? answer.body.slice(0, 120)}`,
    );
  return singleValue(parsed.data);
}

function singleValue(data: QueryAnswer['data']): number {
  const result = data?.result;
  switch (data?.resultType) {
    case 'scalar':
      return numberFrom((result as [number, string])[1], 'the scalar');
    case 'vector': {
      const series = result as Array<{ metric: Record<string, string>; value: [number, string] }>;
      if (series.length === 0) throw new NoDataError('the query returned no series');
      if (series.length > 1)
        throw new Error(
          `the query returned ${series.length} series (e.g. ${describe(series[0]!.metric)}); aggregate it (sum, max, avg …) so that it returns one number`,
        );
      return numberFrom(series[0]!.value[1], "the query's value");
    }
    default:
      throw new Error(
        `the query returned a ${data?.resultType ?? 'missing'} result; a gate needs an instant vector or a scalar`,
      );
  }
}

function describe(metric: Record<string, string>): string {
  const { __name__: name = '', ...labels } = metric;
  return `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
}

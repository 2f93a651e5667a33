import { stringify } from 'yaml';

export interface KubeconfigInput {
  server: string;
  /** Bearer token the server requires, if any. */
  token?: string;
  /** PEM of the self-signed serving certificate, for HTTPS. */
  caCertPem?: string;
  contextName?: string;
}

/**
 * A kubeconfig that kubectl and @kubernetes/client-node both accept for the sandbox.
 * Note: client-node refuses plain `http://` servers unless `insecure-skip-tls-verify` is set, even though no
 * TLS is involved, so it is set for http; for https the generated CA is embedded instead.
 */
export function renderKubeconfig({
  server,
  token,
  caCertPem,
  contextName = 'midflight-sandbox',
}: KubeconfigInput): string {
  const cluster: Record<string, unknown> = { server };
  if (caCertPem) cluster['certificate-authority-data'] = Buffer.from(caCertPem).toString('base64');
  else cluster['insecure-skip-tls-verify'] = true;
  const user: Record<string, unknown> = token ? { token } : {};
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: contextName, cluster }],
    users: [{ name: contextName, user }],
    contexts: [{ name: contextName, context: { cluster: contextName, user: contextName } }],
    'current-context': contextName,
    preferences: {},
  });
}

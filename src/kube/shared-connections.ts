/**
 * Keep-alive connections for a KubeConfig.
 *
 * IMPORTANT: @kubernetes/client-node builds a new http(s).Agent for every request (in
 * `applySecurityAuthentication` and `applyToHTTPSOptions`), so every request opens a new TCP connection
 * and does a full TLS handshake: a round trip more latency and a millisecond or two of CPU on both ends.
 * An upgrade of 1,000 nodes makes some 20,000 requests; against the sandbox, which serves them in the same
 * process, the handshakes were a fifth of the CPU. `shareConnections` makes the KubeConfig reuse one
 * keep-alive agent per distinct set of agent options instead; credentials that change (a refreshed client
 * certificate) get a new agent, since the options then differ. Proxy agents are left as they are.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';

const shared = new WeakSet<KubeConfig>();

/** Patches `kc` in place (idempotent) and returns it. */
export function shareConnections(kc: KubeConfig): KubeConfig {
  if (shared.has(kc)) return kc;
  shared.add(kc);
  const agents = new Map<string, http.Agent>();
  const pooled = (agent: unknown): unknown => {
    const kind = agent?.constructor === https.Agent ? https : agent?.constructor === http.Agent ? http : null;
    if (!kind) return agent;
    const options = (agent as { options: http.AgentOptions }).options;
    const key = `${kind === https ? 'https' : 'http'} ${agentKey(options)}`;
    let reused = agents.get(key);
    if (!reused) {
      // Note: one TLS context (the CA parsed, the key loaded) for every connection of the agent: without it,
      // each new connection builds its own, which costs as much as the rest of the handshake. Connections are
      // still opened (a watch's ends with it: the only way to stop a streamed response), so that counts.
      const secure =
        kind === https ? { secureContext: tls.createSecureContext(options as tls.SecureContextOptions) } : {};
      reused = new kind.Agent({ ...options, ...secure, keepAlive: true });
      agents.set(key, reused);
    }
    return reused;
  };

  const applySecurityAuthentication = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async (context) => {
    await applySecurityAuthentication(context);
    context.setAgent(pooled(context.getAgent()) as http.Agent);
  };
  const applyToHTTPSOptions = kc.applyToHTTPSOptions.bind(kc);
  kc.applyToHTTPSOptions = async (opts) => {
    await applyToHTTPSOptions(opts);
    const withAgent = opts as { agent?: unknown };
    withAgent.agent = pooled(withAgent.agent);
  };
  return kc;
}

/**
 * The options as text, a Buffer (a CA, a client certificate or key) as its base64. Top-level Buffers are
 * encoded directly: JSON.stringify would first expand each into an array of its bytes, per request.
 */
export function agentKey(options: object): string {
  const entries = Object.entries(options).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('base64') : v]);
  return JSON.stringify(entries, bufferAsBase64);
}

function bufferAsBase64(_key: string, value: unknown): unknown {
  // Note: JSON.stringify has already turned Buffers into {type: 'Buffer', data: [...]} when this sees them.
  if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer') {
    return Buffer.from((value as { data: number[] }).data).toString('base64');
  }
  return value;
}

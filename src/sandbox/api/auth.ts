import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Paths anyone may read, as the real server leaves them to `system:public-info-viewer`. */
const PUBLIC_PATHS = new Set(['/healthz', '/readyz', '/livez', '/version']);

export function isPublicPath(pathname: string): boolean {
  return PUBLIC_PATHS.has(pathname) || /^\/(healthz|readyz|livez)\//.test(pathname);
}

/** Whether the request carries `Authorization: Bearer <token>` for the expected token. */
export function hasBearerToken(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header);
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

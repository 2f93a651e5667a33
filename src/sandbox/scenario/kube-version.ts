/**
 * Kubernetes release versions as the sandbox writes them: "v1.31.4". Only the release form is accepted
 * (no pre-release or build suffix), because that is what kubelets, images and `/version` carry here.
 */
export interface KubeVersion {
  major: number;
  minor: number;
  patch: number;
}

const VERSION = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

export function parseKubeVersion(text: string): KubeVersion | undefined {
  const match = VERSION.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

/** Like `parseKubeVersion`, but a malformed version is an error naming what was expected. */
export function mustParseKubeVersion(text: string): KubeVersion {
  const version = parseKubeVersion(text);
  if (!version) throw new RangeError(`expected a version like "v1.31.4", got ${JSON.stringify(text)}`);
  return version;
}

export function formatKubeVersion(v: KubeVersion): string {
  return `v${v.major}.${v.minor}.${v.patch}`;
}

/** Negative when a < b, zero when equal, positive when a > b. */
export function compareKubeVersions(a: KubeVersion | string, b: KubeVersion | string): number {
  const x = typeof a === 'string' ? mustParseKubeVersion(a) : a;
  const y = typeof b === 'string' ? mustParseKubeVersion(b) : b;
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch;
}

/** The lowest of some versions (undefined for none). */
export function lowestKubeVersion(versions: Iterable<string>): string | undefined {
  let lowest: string | undefined;
  for (const v of versions) if (lowest === undefined || compareKubeVersions(v, lowest) < 0) lowest = v;
  return lowest;
}

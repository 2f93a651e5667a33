/**
 * Kubernetes release versions: parsing, ordering, and the table of releases Midflight knows about.
 *
 * IMPORTANT: KNOWN_RELEASES is data to update with each Kubernetes patch release. A version whose minor is
 * missing from it is "unknown" (preflight refuses it); a patch newer than the one recorded is accepted
 * with a warning, because patch releases come out monthly and the table lags behind them.
 */
export interface KubeVersion {
  major: number;
  minor: number;
  patch: number;
  /** Pre-release or build suffix without the leading '-' or '+', e.g. "rc.1" or "eks.5"; '' when absent. */
  suffix: string;
}

export class VersionParseError extends Error {
  constructor(readonly input: string) {
    super(`"${input}" is not a Kubernetes version (expected e.g. v1.31.4, 1.31.4 or 1.31)`);
    this.name = 'VersionParseError';
  }
}

const VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+](.+))?$/;

/** Parses `v1.30.4`, `1.30.4`, `v1.30.4-eks-1234` or `1.30` (patch 0). */
export function parseVersion(input: string): KubeVersion {
  const m = VERSION.exec(input.trim());
  if (!m) throw new VersionParseError(input);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), suffix: m[4] ?? '' };
}

export function tryParseVersion(input: string | undefined | null): KubeVersion | undefined {
  if (!input) return undefined;
  try {
    return parseVersion(input);
  } catch {
    return undefined;
  }
}

const RELEASE = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/**
 * A version in the exact form Kubernetes components report and release images carry, "v1.31.4": no suffix,
 * no missing patch or "v". Where a version is written into a cluster (a scenario, a kubelet, an image tag),
 * anything looser is refused; undefined then.
 */
export function parseReleaseVersion(input: string): KubeVersion | undefined {
  const m = RELEASE.exec(input);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), suffix: '' } : undefined;
}

/** Whether the input named a minor only (`1.31`), so a caller may resolve it to the latest patch. */
export function isMinorOnly(input: string): boolean {
  return /^v?\d+\.\d+$/.test(input.trim());
}

/** Orders by major, minor, patch; suffixes are ignored (a vendor build of v1.30.4 is v1.30.4). */
export function compareVersions(a: KubeVersion, b: KubeVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** The lowest of some version strings, as written (undefined for none); throws VersionParseError on a bad one. */
export function lowestVersion(versions: Iterable<string>): string | undefined {
  let lowest: { text: string; version: KubeVersion } | undefined;
  for (const text of versions) {
    const version = parseVersion(text);
    if (!lowest || compareVersions(version, lowest.version) < 0) lowest = { text, version };
  }
  return lowest?.text;
}

export function formatVersion(v: KubeVersion): string {
  return `v${v.major}.${v.minor}.${v.patch}`;
}

export function formatMinor(v: KubeVersion): string {
  return `${v.major}.${v.minor}`;
}

/** How many minors b is ahead of a (negative when behind). Both must be 1.x. */
export function minorDistance(a: KubeVersion, b: KubeVersion): number {
  return (b.major - a.major) * 1000 + (b.minor - a.minor);
}

export interface KnownRelease {
  minor: number;
  /** The newest patch we have a record of; not necessarily the final one while the minor is supported. */
  latestPatch: number;
  /** The etcd version kubeadm pins for this minor (it moves with patch releases; this is the latest known). */
  etcd: string;
  /** The date of the x.y.0 release. */
  releasedOn: string;
}

/**
 * Releases 1.20 … 1.35, latest patches as of the December 2025 patch releases.
 * Sources: kubernetes.io/releases and kubeadm's `SupportedEtcdVersion` (cmd/kubeadm/app/constants).
 */
export const KNOWN_RELEASES: readonly KnownRelease[] = [
  { minor: 20, latestPatch: 15, etcd: '3.4.13', releasedOn: '2020-12-08' },
  { minor: 21, latestPatch: 14, etcd: '3.4.13', releasedOn: '2021-04-08' },
  { minor: 22, latestPatch: 17, etcd: '3.5.6', releasedOn: '2021-08-04' },
  { minor: 23, latestPatch: 17, etcd: '3.5.6', releasedOn: '2021-12-07' },
  { minor: 24, latestPatch: 17, etcd: '3.5.6', releasedOn: '2022-05-03' },
  { minor: 25, latestPatch: 16, etcd: '3.5.9', releasedOn: '2022-08-23' },
  { minor: 26, latestPatch: 15, etcd: '3.5.10', releasedOn: '2022-12-08' },
  { minor: 27, latestPatch: 16, etcd: '3.5.12', releasedOn: '2023-04-11' },
  { minor: 28, latestPatch: 15, etcd: '3.5.15', releasedOn: '2023-08-15' },
  { minor: 29, latestPatch: 15, etcd: '3.5.16', releasedOn: '2023-12-13' },
  { minor: 30, latestPatch: 14, etcd: '3.5.21', releasedOn: '2024-04-17' },
  { minor: 31, latestPatch: 14, etcd: '3.5.24', releasedOn: '2024-08-13' },
  { minor: 32, latestPatch: 11, etcd: '3.5.24', releasedOn: '2024-12-11' },
  { minor: 33, latestPatch: 7, etcd: '3.5.24', releasedOn: '2025-04-23' },
  { minor: 34, latestPatch: 3, etcd: '3.6.5', releasedOn: '2025-08-27' },
  { minor: 35, latestPatch: 0, etcd: '3.6.6', releasedOn: '2025-12-17' },
];

const RELEASE_BY_MINOR = new Map(KNOWN_RELEASES.map((r) => [r.minor, r]));

export function knownRelease(v: KubeVersion): KnownRelease | undefined {
  return v.major === 1 ? RELEASE_BY_MINOR.get(v.minor) : undefined;
}

export type VersionStatus = 'known' | 'newer-patch' | 'unknown-minor';

/** 'newer-patch': the minor is known but the patch is newer than the table (probably fine, table lags). */
export function versionStatus(v: KubeVersion): VersionStatus {
  const release = knownRelease(v);
  if (!release) return 'unknown-minor';
  return v.patch > release.latestPatch ? 'newer-patch' : 'known';
}

export function latestPatchOf(major: number, minor: number): KubeVersion | undefined {
  const release = major === 1 ? RELEASE_BY_MINOR.get(minor) : undefined;
  return release ? { major, minor, patch: release.latestPatch, suffix: '' } : undefined;
}

/** `1.31` → the latest known patch of 1.31; a full version is returned as parsed. */
export function resolveTargetVersion(input: string): KubeVersion {
  const v = parseVersion(input);
  if (!isMinorOnly(input)) return v;
  return latestPatchOf(v.major, v.minor) ?? v;
}

/**
 * The versions the control plane passes through from `from` to `to`, one minor at a time, ending with `to`.
 * Intermediate minors go to their latest known patch, as the skew policy recommends.
 * Example: v1.29.3 → v1.32.2 gives [v1.30.14, v1.31.14, v1.32.2]; a patch-only upgrade gives [to].
 */
export function minorHops(from: KubeVersion, to: KubeVersion): KubeVersion[] {
  if (compareVersions(to, from) <= 0) return [];
  return minorPath(from, to);
}

/**
 * The versions from `from` to `to` one minor at a time, upwards or downwards (a rollback), ending with `to`;
 * [to] when only the patch differs, [] when they are equal. An intermediate minor takes its version from
 * `via` when one of them has that minor (the versions the control plane went through), else its latest
 * known patch.
 * Example: v1.31.2 → v1.29.10 via [v1.30.6] gives [v1.30.6, v1.29.10].
 */
export function minorPath(
  from: KubeVersion,
  to: KubeVersion,
  via: readonly KubeVersion[] = [],
): KubeVersion[] {
  if (compareVersions(to, from) === 0) return [];
  if (from.major !== to.major) return [to];
  const direction = to.minor > from.minor ? 1 : -1;
  const path: KubeVersion[] = [];
  for (
    let minor = from.minor + direction;
    minor !== to.minor && to.minor !== from.minor;
    minor += direction
  ) {
    path.push(
      via.find((v) => v.major === to.major && v.minor === minor) ??
        latestPatchOf(to.major, minor) ?? { major: to.major, minor, patch: 0, suffix: '' },
    );
  }
  path.push(to);
  return path;
}

export function etcdVersionFor(v: KubeVersion): string | undefined {
  return knownRelease(v)?.etcd;
}

/** The version in an image reference: `registry.k8s.io/kube-apiserver:v1.30.4` → v1.30.4. */
export function versionFromImage(image: string | undefined): KubeVersion | undefined {
  if (!image) return undefined;
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const colon = ref.lastIndexOf(':');
  if (colon < 0 || ref.indexOf('/', colon) >= 0) return undefined;
  return tryParseVersion(ref.slice(colon + 1));
}

/** CoreDNS versions kubeadm pins per Kubernetes minor (cmd/kubeadm/app/constants CoreDNSVersion). */
export const COREDNS_BY_MINOR: Readonly<Record<number, string>> = {
  26: 'v1.9.3',
  27: 'v1.10.1',
  28: 'v1.10.1',
  29: 'v1.11.1',
  30: 'v1.11.1',
  31: 'v1.11.3',
  32: 'v1.11.3',
  33: 'v1.12.0',
  34: 'v1.12.1',
};

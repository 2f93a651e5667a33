/**
 * The inputs `preflight` and `plan` share, read and validated before the cluster is touched: the target
 * version, the policy file and manifest paths. Every mistake is a UsageError (exit 2) naming the input.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import {
  formatVersion,
  KNOWN_RELEASES,
  type KubeVersion,
  parseYamlDocuments,
  RealClock,
  resolveTargetVersion,
  VersionParseError,
  versionStatus,
} from '../core/index.ts';
import { hooksOf, PlanRejectedError } from '../engine/index.ts';
import { defaultPolicy, formatPolicyError, type Policy, policyFromYaml } from '../plan/index.ts';
import { CHECK_IDS, type ManifestDocument } from '../preflight/index.ts';
import { nodeProviderFromPolicy, ProviderConfigError, providerFromPolicy } from '../providers/index.ts';
import { UsageError } from './errors.ts';

/** `--to 1.31` (latest known patch) or `--to v1.31.2`; a minor we know nothing about is refused. */
export function parseTargetVersion(input: string): KubeVersion {
  let version: KubeVersion;
  try {
    version = resolveTargetVersion(input);
  } catch (err) {
    if (err instanceof VersionParseError) {
      throw new UsageError(`--to "${input}" is not a Kubernetes version like v1.31.2 or 1.31`);
    }
    throw err;
  }
  if (versionStatus(version) === 'unknown-minor') {
    const first = KNOWN_RELEASES[0]!.minor;
    const last = KNOWN_RELEASES.at(-1)!.minor;
    throw new UsageError(
      `--to ${formatVersion(version)}: unknown Kubernetes release (midflight knows 1.${first} to 1.${last})`,
    );
  }
  return version;
}

/** The policy file, validated with every problem named; without a file, the defaults. */
export function readPolicyFile(path: string | undefined): Policy {
  if (!path) return defaultPolicy();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read policy file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const result = policyFromYaml(text, path);
  if (!result.ok)
    throw new UsageError(`invalid policy file ${result.errors.map(formatPolicyError).join('; ')}`);
  // A problem found here, `field: message`, told at its place in the file as the validator's are.
  const located = (problem: string) => {
    const field = problem.slice(0, problem.indexOf(':'));
    const { line, column } = result.positionOf(field);
    return `${path}:${line}:${column}: ${problem}`;
  };
  // Note: the policy validator (plan/) cannot see the check ids (preflight/); a misspelt id would silently
  // leave the check running.
  const unknownChecks = result.policy.preflight.skip.filter(
    (id) => !(CHECK_IDS as readonly string[]).includes(id),
  );
  if (unknownChecks.length > 0)
    throw new UsageError(
      `invalid policy file ${located(`preflight.skip: unknown check ${unknownChecks.map((id) => `"${id}"`).join(', ')} (known: ${CHECK_IDS.join(', ')})`)}`,
    );
  // Hooks run during apply; a mistake there is found now, not at the first phase boundary.
  try {
    hooksOf(result.policy.hooks);
  } catch (err) {
    if (err instanceof PlanRejectedError)
      throw new UsageError(`invalid policy file ${err.problems.map(located).join('; ')}`);
    throw err;
  }
  return result.policy;
}

/**
 * What a user who has not chosen a provider is told, in one sentence, before a plan is written: the
 * default (a Job with no image) can upgrade nothing.
 */
const NO_PROVIDER_CHOSEN =
  'no provider chosen: give `plan` or `apply --to` a policy file (--policy) whose `provider` says how a ' +
  'node is upgraded, `command` (a shell command per node, such as ssh + kubeadm) or `job` (an upgrade ' +
  'image run on the node); examples/ has policies to start from';

/** Whether the policy says how a node is upgraded (the default provider, a Job with no image, does not). */
function providerChosen(policy: Policy): boolean {
  return !isDeepStrictEqual(policy.provider, defaultPolicy().provider);
}

/**
 * Why the policy's provider could not upgrade a node (none chosen, a missing image or command, an unknown
 * placeholder), or undefined when it can. `plan` warns with it; `apply` refuses.
 */
export function providerProblem(policy: Policy): string | undefined {
  if (!providerChosen(policy)) return NO_PROVIDER_CHOSEN;
  try {
    // Note: building a provider does no I/O; the empty kubeconfig is never used.
    providerFromPolicy(policy.provider, { kc: new KubeConfig(), clock: new RealClock() });
    if (policy.nodeProvider) nodeProviderFromPolicy(policy.nodeProvider, { kc: new KubeConfig() });
    return undefined;
  } catch (err) {
    if (err instanceof ProviderConfigError) return err.message;
    throw err;
  }
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Every YAML document in the given files and directories (recursively: *.yaml, *.yml, *.json), in path
 * order. Empty documents are skipped; a document that does not parse is a usage error naming its place.
 */
export function readManifests(paths: readonly string[]): ManifestDocument[] {
  const files: string[] = [];
  for (const path of paths) {
    let stats: ReturnType<typeof statSync>;
    try {
      stats = statSync(path);
    } catch {
      throw new UsageError(`--manifests ${path}: no such file or directory`);
    }
    if (stats.isDirectory()) files.push(...manifestFilesIn(path));
    else files.push(path);
  }
  const documents: ManifestDocument[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const { doc, syntaxErrors } of parseYamlDocuments(text)) {
      const [error] = syntaxErrors;
      if (error)
        throw new UsageError(
          `--manifests ${file}:${error.line}:${error.column}: not valid YAML: ${error.message}`,
        );
      const document = doc.toJS();
      if (document !== null && document !== undefined) documents.push({ path: file, document });
    }
  }
  return documents;
}

function manifestFilesIn(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...manifestFilesIn(path));
    else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(path);
  }
  return found;
}

/**
 * The checks a plan must pass before the engine touches anything: it is a plan (not a hand-edited shape),
 * its content still hashes to its id, and it was written for this cluster at the version it runs now.
 * Pure: the snapshot is read by the caller.
 */
import { createHash } from 'node:crypto';
import {
  addonsBehind,
  type ClusterSnapshot,
  clusterFingerprint,
  clusterModelOf,
  compareVersions,
  formatVersion,
  sourceVersionOf,
  tryParseVersion,
} from '../core/index.ts';
import { PHASE_KINDS, PLAN_SCHEMA_VERSION, type Plan, STEP_KINDS, validatePolicy } from '../plan/index.ts';
import { PlanRejectedError } from './errors.ts';

const NODE_STEP_KINDS = new Set(['canary', 'node-wave', 'control-plane']);

/** Full SHA-256 (hex) of the plan without its id; the id is "plan-" + its first 12 digits. */
export function planHashOf(plan: Plan): string {
  return createHash('sha256')
    .update(JSON.stringify({ ...plan, id: '' }))
    .digest('hex');
}

/** Every way `raw` is not a well-formed plan, each as `path: problem`. */
export function planShapeProblems(raw: unknown): string[] {
  const problems: string[] = [];
  const fail = (path: string, message: string) => problems.push(`${path}: ${message}`);
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(raw))
    return [
      `(root): must be a mapping that starts schemaVersion: ${PLAN_SCHEMA_VERSION}, got ${kindOf(raw)}`,
    ];
  if (raw.schemaVersion !== PLAN_SCHEMA_VERSION) fail('schemaVersion', `must be ${PLAN_SCHEMA_VERSION}`);
  if (typeof raw.id !== 'string' || !/^plan-[0-9a-f]{12}$/.test(raw.id))
    fail('id', 'must be plan-<12 hex digits>');
  if (
    !isObj(raw.cluster) ||
    typeof raw.cluster.server !== 'string' ||
    typeof raw.cluster.fingerprint !== 'string'
  )
    fail('cluster', 'must have server and fingerprint strings');
  for (const key of ['source', 'target'] as const)
    if (typeof raw[key] !== 'string' || !tryParseVersion(raw[key] as string))
      fail(key, 'must be a version like v1.31.2');
  if (!Array.isArray(raw.hops) || raw.hops.some((h) => typeof h !== 'string' || !tryParseVersion(h)))
    fail('hops', 'must be a list of versions');
  const policy = validatePolicy(raw.policy, 'plan.policy');
  if (!policy.ok) for (const e of policy.errors) fail(`policy.${e.field}`, e.message);
  if (!Array.isArray(raw.phases) || raw.phases.length === 0) {
    fail('phases', 'must be a non-empty list');
    return problems;
  }
  const ids = new Set<string>();
  for (const [i, phase] of raw.phases.entries()) {
    const at = `phases[${i}]`;
    if (!isObj(phase)) {
      fail(at, 'must be a phase object');
      continue;
    }
    if (!(PHASE_KINDS as readonly unknown[]).includes(phase.kind))
      fail(`${at}.kind`, `must be one of ${PHASE_KINDS.join(', ')}`);
    if (typeof phase.name !== 'string') fail(`${at}.name`, 'must be a string');
    if (!Array.isArray(phase.steps)) {
      fail(`${at}.steps`, 'must be a list');
      continue;
    }
    for (const [j, step] of phase.steps.entries()) {
      const sat = `${at}.steps[${j}]`;
      if (!isObj(step)) {
        fail(sat, 'must be a step object');
        continue;
      }
      if (typeof step.id !== 'string' || step.id === '') fail(`${sat}.id`, 'must be a non-empty string');
      else if (ids.has(step.id)) fail(`${sat}.id`, `duplicate step id "${step.id}"`);
      else ids.add(step.id);
      if (!(STEP_KINDS as readonly unknown[]).includes(step.kind))
        fail(`${sat}.kind`, `must be one of ${STEP_KINDS.join(', ')}`);
      if (!Array.isArray(step.nodes) || step.nodes.some((n) => typeof n !== 'string' || n === ''))
        fail(`${sat}.nodes`, 'must be a list of node names');
      else if (new Set(step.nodes).size !== step.nodes.length) fail(`${sat}.nodes`, 'lists a node twice');
      if (
        NODE_STEP_KINDS.has(step.kind as string) &&
        (typeof step.version !== 'string' || !tryParseVersion(step.version))
      )
        fail(`${sat}.version`, 'must be a version like v1.31.2');
      if (step.kind === 'canary' || step.kind === 'node-wave') {
        if (typeof step.pool !== 'string') fail(`${sat}.pool`, "must name the nodes' pool");
        if (!Number.isInteger(step.maxInFlight) || (step.maxInFlight as number) < 1)
          fail(`${sat}.maxInFlight`, 'must be a whole number of nodes, at least 1');
      }
      if (step.kind === 'etcd-member') {
        for (const key of ['member', 'endpoint'] as const)
          if (typeof step[key] !== 'string' || step[key] === '')
            fail(`${sat}.${key}`, `must name the etcd member's ${key === 'member' ? 'name' : 'client URL'}`);
        if (step.version !== undefined && typeof step.version !== 'string')
          fail(`${sat}.version`, 'must be an etcd version such as 3.5.17');
      }
      if (step.soakSeconds !== undefined && (typeof step.soakSeconds !== 'number' || step.soakSeconds < 0))
        fail(`${sat}.soakSeconds`, 'must be a non-negative number');
    }
  }
  if (!isObj(raw.estimate)) fail('estimate', 'must be a mapping');
  if (!Array.isArray(raw.warnings) || raw.warnings.some((w) => typeof w !== 'string'))
    fail('warnings', 'must be a list of strings');
  return problems;
}

/**
 * The plan's fields in the order `midflight plan` writes them (YAML and JSON alike), and so the order in
 * which a file that stops early loses them: from the end.
 */
const PLAN_FIELD_ORDER = [
  'schemaVersion',
  'id',
  'cluster',
  'snapshotTakenAt',
  'source',
  'target',
  'hops',
  'policy',
  'phases',
  'estimate',
  'warnings',
] as const satisfies ReadonlyArray<keyof Plan>;

/**
 * The fields a plan lacks when it looks cut off: it starts as a plan does and only its last fields are
 * missing. Empty for a complete plan and for anything else (hand-written, another schema).
 */
export function planFieldsCutOff(raw: unknown): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return [];
  const record = raw as Record<string, unknown>;
  if (record.schemaVersion !== PLAN_SCHEMA_VERSION) return [];
  const present = PLAN_FIELD_ORDER.findIndex((key) => !(key in record));
  if (present < 0) return [];
  const missing = PLAN_FIELD_ORDER.slice(present);
  return missing.every((key) => !(key in record)) ? [...missing] : [];
}

/** Throws PlanRejectedError unless `raw` is a well-formed plan whose content matches its id. */
export function checkPlanIntegrity(raw: unknown): Plan {
  const cutOff = planFieldsCutOff(raw);
  if (cutOff.length > 0)
    throw new PlanRejectedError(
      'incomplete',
      `this is not a complete plan: it stops before its last fields (${cutOff.join(', ')}), as a file that was cut off does; write it again with \`midflight plan\``,
      cutOff.map((key) => `${key}: missing`),
    );
  const problems = planShapeProblems(raw);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    throw new PlanRejectedError(
      'invalid',
      `this is not a valid plan${problems.length > 1 ? ` (${problems.length} problems)` : ''}: ${shown}${more}`,
      problems,
    );
  }
  const plan = raw as Plan;
  const expected = `plan-${planHashOf(plan).slice(0, 12)}`;
  if (expected !== plan.id)
    throw new PlanRejectedError(
      'edited',
      `plan ${plan.id} was changed after it was written (its content hashes to ${expected}); write a new plan with \`midflight plan\` instead of editing it`,
    );
  return plan;
}

/** Throws PlanRejectedError unless the plan was written for this cluster (always checked, also on resume). */
export function checkPlanCluster(plan: Plan, snapshot: ClusterSnapshot): void {
  const fingerprint = clusterFingerprint(snapshot);
  if (fingerprint !== plan.cluster.fingerprint)
    throw new PlanRejectedError(
      'other-cluster',
      `plan ${plan.id} was written for another cluster (fingerprint ${plan.cluster.fingerprint}, server ${plan.cluster.server}); this cluster is ${fingerprint} at ${snapshot.server.url}`,
    );
  if (snapshot.server.url !== plan.cluster.server)
    throw new PlanRejectedError(
      'other-cluster',
      `plan ${plan.id} was written for the API server ${plan.cluster.server}, not ${snapshot.server.url}; write a new plan against this endpoint`,
    );
}

/**
 * Throws PlanRejectedError when the cluster already runs the target or has moved past the plan's source.
 * Note: a plan that rolls an external etcd (an etcd phase) has work left with Kubernetes at its target: the
 * members, which its steps check one by one (a member already at etcd.version is left alone). So has a plan
 * that moves add-ons while they still run behind, as after a run that stopped before its add-ons step.
 */
export function checkPlanVersions(plan: Plan, snapshot: ClusterSnapshot): void {
  const model = clusterModelOf(snapshot, plan.policy.poolLabel);
  const current = sourceVersionOf(model);
  const source = tryParseVersion(plan.source)!;
  const target = tryParseVersion(plan.target)!;
  if (!current) return;
  const behind = snapshot.nodes.filter((n) => {
    const k = tryParseVersion(n.status?.nodeInfo?.kubeletVersion);
    return !k || compareVersions(k, target) < 0;
  });
  const workLeft =
    plan.phases.some((p) => p.kind === 'etcd') ||
    (plan.phases.some((p) => p.kind === 'addons') && addonsBehind(model, target).length > 0);
  if (compareVersions(current, target) >= 0 && behind.length === 0 && !workLeft)
    throw new PlanRejectedError(
      'target-reached',
      `the cluster already runs ${formatVersion(current)} on the control plane and every node: nothing to apply`,
    );
  if (compareVersions(current, source) > 0)
    throw new PlanRejectedError(
      'version-passed',
      `plan ${plan.id} starts from ${plan.source} but the cluster's control plane now runs ${formatVersion(current)}; write a new plan with \`midflight plan --to ${plan.target}\``,
    );
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (an empty file?)';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? `the text ${JSON.stringify(value.slice(0, 40))}` : `a ${typeof value}`;
}

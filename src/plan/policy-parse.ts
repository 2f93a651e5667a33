/**
 * Reads a policy file's text: a YAML syntax error and every validation problem come back with the
 * line:column in the file, found from the field path each problem names.
 */
import { parseYamlSource, type SourcePosition } from '../core/index.ts';
import type { Policy, PolicyError } from './policy.ts';
import { validatePolicy } from './policy-validate.ts';

export type PolicyFileResult =
  | {
      ok: true;
      policy: Policy;
      /** Where a field is in the file, for checks made later by those who know more (preflight ids, hooks). */
      positionOf(field: string): SourcePosition;
    }
  | { ok: false; errors: PolicyError[] };

export function policyFromYaml(text: string, file: string): PolicyFileResult {
  const source = parseYamlSource(text);
  const [syntax] = source.syntaxErrors;
  if (syntax) {
    // Note: the first error only: the ones after it are most often the same mistake seen again.
    const { line, column, message } = syntax;
    return {
      ok: false,
      errors: [{ file, field: '(file)', message: `not valid YAML: ${message}`, line, column }],
    };
  }
  const result = validatePolicy(source.doc.toJS() ?? {}, file);
  if (!result.ok)
    return { ok: false, errors: result.errors.map((e) => ({ ...e, ...source.positionAt(e.field) })) };
  return { ok: true, policy: result.policy, positionOf: (field) => source.positionAt(field) };
}

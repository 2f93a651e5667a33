/**
 * A plan file (YAML or JSON) read and checked before anything runs. Every refusal is one line that names
 * the file and, where there is one, the line:column: a file cut off short says so instead of looking edited.
 */
import { readFileSync } from 'node:fs';
import { keepVersionsAsWritten, parseYamlSource } from '../core/index.ts';
import { checkPlanIntegrity, planFieldsCutOff } from '../engine/index.ts';
import type { Plan } from '../plan/index.ts';
import { UsageError } from './errors.ts';
import { cliErrorOf } from './run-session.ts';

/** The plan's fields that hold versions: `target: 1.30` is the text "1.30" to the checks, never 1.3. */
const VERSION_FIELDS: ReadonlySet<string> = new Set(['source', 'target', 'hops', 'version']);

const WRITE_IT_AGAIN = 'write it again with `midflight plan --to VERSION -o yaml --out FILE`';

export function loadPlanFile(path: string): Plan {
  const name = path === '-' ? 'standard input' : path;
  let text: string;
  try {
    text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read plan file ${name}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const format = text.trimStart().startsWith('{') ? 'JSON' : 'YAML';
  const source = parseYamlSource(text);
  const { end } = source;
  const [error] = source.syntaxErrors;
  if (error?.cutOff)
    throw new UsageError(
      `plan file ${name} is not a complete plan: its ${format} stops at line ${end.line}, column ${end.column} before the document is closed (${error.message}), as a file cut off does; ${WRITE_IT_AGAIN}`,
    );
  if (error)
    throw new UsageError(
      `plan file ${name}:${error.line}:${error.column} is not valid ${format}: ${error.message}`,
    );
  keepVersionsAsWritten(source.doc, VERSION_FIELDS);
  const raw: unknown = source.doc.toJS();
  const missing = planFieldsCutOff(raw);
  if (missing.length > 0)
    throw new UsageError(
      `plan file ${name} is not a complete plan: it ends at line ${end.line} without its last fields (${missing.join(', ')}), as a file cut off does; ${WRITE_IT_AGAIN}`,
    );
  try {
    return checkPlanIntegrity(raw);
  } catch (err) {
    throw cliErrorOf(err);
  }
}

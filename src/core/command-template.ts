/**
 * Command templates: `ssh {node} sudo kubeadm upgrade node`, `ssh {member} systemctl restart etcd`. One
 * placeholder syntax and one quoting rule for every templated command (the node provider's, the etcd member
 * provider's), so a value can never break out of its argument.
 */

/** POSIX single-quoting: safe for any value, including spaces and quotes. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** `{name}`, but not the shell's `${NAME}`: environment variables pass through to the shell untouched. */
const PLACEHOLDER = /(?<!\$)\{([A-Za-z]+)\}/g;

/** The placeholders `template` uses, in order (repeats included). */
export function placeholdersIn(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** The placeholders of `template` not in `known` (a typo would run a broken command). */
export function unknownPlaceholders(template: string, known: readonly string[]): string[] {
  return placeholdersIn(template).filter((name) => !known.includes(name));
}

/** Fills every placeholder with its shell-quoted value ('' when `values` lacks it); check unknownPlaceholders first. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => shellQuote(values[name] ?? ''));
}

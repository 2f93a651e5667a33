/** The Node flags a rehearsal's process lacks (see rehearsal-node-flags.js). */
export function rehearsalNodeFlags(): string[];
/** Runs `script ARGS` again in a new Node with `flags`; its exit code becomes this process's. */
export function restartWithNodeFlags(script: string, args: string[], flags: string[]): void;

// The V8 heap a rehearsal runs in: `midflight rehearse` (bin/midflight.js) and bench/rehearse-scale.ts start
// themselves once more with these flags. V8 sizes its heap when the process starts (v8.setFlagsFromString
// afterwards changes nothing: measured on Node 20), hence a second process.
import { spawn } from 'node:child_process';
import { constants, totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';

/** Set in the restarted process: it must not restart again. */
const RESTARTED = 'MIDFLIGHT_NODE_FLAGS';

/**
 * The flags this process lacks, [] when restarted already; a flag the user chose (NODE_OPTIONS or node's own
 * arguments) is left as chosen.
 * - `--max-semi-space-size=64`: a rehearsal allocates objects that mostly die within milliseconds; with the
 *   default young generation (16 MB semi-spaces) they are still alive at the next scavenge and get copied and
 *   promoted (64 % fewer scavenges at large/5).
 * - `--max-old-space-size`: half the machine's memory when that is more than the default limit (about 4 GB):
 *   the `large` scenario's copy (5,000 nodes, 150,000 pods) holds some 4.5 GB, and a heap that close to its
 *   limit spends a third of the CPU collecting garbage.
 */
export function rehearsalNodeFlags() {
  if (process.env[RESTARTED]) return [];
  // Note: V8 takes `_` for `-` in a flag's name.
  const chosen = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ').replaceAll('_', '-');
  const flags = [];
  if (!chosen.includes('--max-semi-space-size')) flags.push('--max-semi-space-size=64');
  const halfMemoryMb = Math.floor(totalmem() / 2 / 2 ** 20);
  if (
    !chosen.includes('--max-old-space-size') &&
    halfMemoryMb * 2 ** 20 > getHeapStatistics().heap_size_limit
  )
    flags.push(`--max-old-space-size=${halfMemoryMb}`);
  return flags;
}

/** Runs `script ARGS` again in a new Node with `flags`; its exit code (or signal) becomes this process's. */
export function restartWithNodeFlags(script, args, flags) {
  const child = spawn(process.execPath, [...process.execArgv, ...flags, script, ...args], {
    stdio: 'inherit',
    env: { ...process.env, [RESTARTED]: flags.join(' ') },
  });
  // Note: a signal sent to this process alone (kill PID) is passed on; a terminal's Ctrl-C reaches both.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    process.stderr.write(`error: could not start ${process.execPath}: ${err.message}\n`);
    process.exitCode = 1;
  });
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? 128 + (constants.signals[signal] ?? 0);
  });
}

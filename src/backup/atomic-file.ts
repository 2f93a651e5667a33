/**
 * Writing a file so that a reader sees either nothing or the whole of it, even across a crash or a power
 * cut: write a temp file in the same directory, fsync it, rename it over the name, fsync the directory
 * (the rename itself is only durable once the directory is).
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The temp name a file is written under until it is complete: hidden, in the same directory. */
export function tempPathOf(path: string): string {
  return join(dirname(path), `.${basename(path)}.part`);
}

export function writeFileAtomic(path: string, content: string): void {
  const temp = tempPathOf(path);
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  commitTemp(temp, path);
}

/**
 * Writes each chunk to `path`'s temp file as it comes (a stream is never held whole) and fsyncs it; returns
 * the temp file, for the caller to check and then commitTemp. A failed stream leaves no temp file behind.
 */
export async function streamToTemp(path: string, chunks: AsyncIterable<Buffer>): Promise<string> {
  const temp = tempPathOf(path);
  const handle = await open(temp, 'w', 0o600);
  try {
    for await (const chunk of chunks) await handle.write(chunk);
    await handle.sync();
  } catch (err) {
    await handle.close();
    rmSync(temp, { force: true });
    throw err;
  }
  await handle.close();
  return temp;
}

/** Renames a complete temp file to its name and makes the rename durable. */
export function commitTemp(temp: string, path: string): void {
  renameSync(temp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * A reader that goes away (`midflight history | head -1`, a closed terminal, a killed `tee`) makes the next
 * write to that stream fail with EPIPE. That is not midflight's failure, and must not become one: the
 * stream is dropped quietly and the command carries on with its own exit code, so a run in progress is not
 * cut short because nobody watches it any more.
 */
export function ignoreClosedOutput(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    // Note: a caller waiting on a write's callback must still get it, or it would wait forever.
    stream.write = ((_chunk: unknown, encodingOrDone?: unknown, done?: unknown) => {
      const callback = typeof encodingOrDone === 'function' ? encodingOrDone : done;
      if (typeof callback === 'function') queueMicrotask(() => callback());
      return true;
    }) as typeof stream.write;
  });
}

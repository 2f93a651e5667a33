/**
 * A small JSON value one thread writes and another reads at any moment, synchronously, through shared
 * memory: the pools a rehearsal has in flight (main thread, where the engine runs) as its copy's pending
 * watch sees them (worker thread, where the copy runs), at the very moment a pod is stranded. A message
 * would arrive at a moment of its own, after or before the evictions that stranded the pod.
 *
 * Note: a sequence lock: the writer makes the sequence odd while it writes and even once done; a reader
 * that sees it odd, or changed while it read, reads again. One writer only.
 */
const HEADER_INTS = 2;
const SEQ = 0;
const LENGTH = 1;
const HEADER_BYTES = HEADER_INTS * Int32Array.BYTES_PER_ELEMENT;

export class SharedJsonCell<T> {
  private readonly header: Int32Array;
  private readonly body: Uint8Array;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  /** `buffer`: from `SharedJsonCell.allocate` (in either thread; pass it to the other one). */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, HEADER_INTS);
    this.body = new Uint8Array(buffer, HEADER_BYTES);
  }

  static allocate<T>(capacityBytes: number, initial: T): SharedJsonCell<T> {
    const cell = new SharedJsonCell<T>(new SharedArrayBuffer(HEADER_BYTES + capacityBytes));
    cell.write(initial);
    return cell;
  }

  write(value: T): void {
    const bytes = this.encoder.encode(JSON.stringify(value));
    if (bytes.length > this.body.length)
      throw new RangeError(`a shared value of ${bytes.length} bytes does not fit its ${this.body.length}`);
    Atomics.add(this.header, SEQ, 1);
    this.body.set(bytes);
    Atomics.store(this.header, LENGTH, bytes.length);
    Atomics.add(this.header, SEQ, 1);
  }

  read(): T {
    for (;;) {
      const before = Atomics.load(this.header, SEQ);
      if (before % 2 !== 0) continue;
      const length = Atomics.load(this.header, LENGTH);
      // Note: a copy, since TextDecoder refuses views of shared memory.
      const text = this.decoder.decode(this.body.slice(0, length));
      if (Atomics.load(this.header, SEQ) === before) return JSON.parse(text) as T;
    }
  }
}

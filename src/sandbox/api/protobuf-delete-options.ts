import { badRequest } from '../status.ts';

/**
 * Decodes a protobuf-encoded meta/v1 DeleteOptions, which kubectl sends with
 * `Content-Type: application/vnd.kubernetes.protobuf` (e.g. `kubectl drain --disable-eviction`).
 * The body is the Kubernetes envelope: the magic bytes `k8s\0`, then a runtime.Unknown whose field 2 holds
 * the DeleteOptions message (fields from k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto).
 */
export interface DecodedDeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  orphanDependents?: boolean;
  propagationPolicy?: string;
  dryRun?: string[];
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 127) << shift;
      if (!(byte & 128)) return result;
      shift += 7n;
    }
  }
  bytes(): Buffer {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.bytes();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function fields(buf: Buffer, visit: (field: number, wire: number, r: Reader) => boolean): void {
  const r = new Reader(buf);
  while (!r.done()) {
    const tag = Number(r.varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (!visit(field, wire, r)) r.skip(wire);
  }
}

export function decodeProtobufDeleteOptions(body: Buffer): DecodedDeleteOptions {
  try {
    const magic = body.subarray(0, 4).toString('latin1');
    if (magic !== 'k8s\u0000') throw new Error('missing the k8s protobuf envelope');
    let raw: Buffer | undefined;
    fields(body.subarray(4), (field, wire, r) => {
      if (field === 2 && wire === 2) {
        raw = r.bytes();
        return true;
      }
      return false;
    });
    const options: DecodedDeleteOptions = {};
    if (!raw) return options;
    fields(raw, (field, wire, r) => {
      if (field === 1 && wire === 0) options.gracePeriodSeconds = Number(BigInt.asIntN(64, r.varint()));
      else if (field === 2 && wire === 2) {
        const pre: { uid?: string; resourceVersion?: string } = {};
        fields(r.bytes(), (f, w, inner) => {
          if (w !== 2) return false;
          if (f === 1) pre.uid = inner.bytes().toString('utf8');
          else if (f === 2) pre.resourceVersion = inner.bytes().toString('utf8');
          else return false;
          return true;
        });
        options.preconditions = pre;
      } else if (field === 3 && wire === 0) options.orphanDependents = r.varint() !== 0n;
      else if (field === 4 && wire === 2) options.propagationPolicy = r.bytes().toString('utf8');
      else if (field === 5 && wire === 2)
        options.dryRun = [...(options.dryRun ?? []), r.bytes().toString('utf8')];
      else return false;
      return true;
    });
    return options;
  } catch (err) {
    throw badRequest(`unable to decode DeleteOptions: ${(err as Error).message}`);
  }
}

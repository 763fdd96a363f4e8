/**
 * Mirrors the wire format that etcd's generated gogo-protobuf code (`*.pb.go`) writes and reads: tag =
 * field << 3 | wire type, varints 7 bits a byte, length-delimited bytes. The WAL, the `.snap` files and
 * the backend rows hold protobuf messages; etcdsim writes them with this small module instead of a
 * generated codec, so each message's layout is spelled out beside the etcd file it comes from.
 *
 *   new PbWriter().uint(1, 4).uint(2, 0).finish()          →  08 04 10 00      (walpb.Record of a crc record)
 *   readFields(Uint8Array.of(0x08, 0x04, 0x10, 0x00))      →  [{field 1, varint 4n}, {field 2, varint 0n}]
 *
 * Only the two wire types etcd's messages use are supported: 0 (varint) and 2 (bytes). A varint is read
 * as a bigint (uint64 and int64 IDs need all 64 bits); `Number(value)` where it is a count or index.
 */

/** A protobuf field read back: a varint (wire type 0) or a byte string (wire type 2). */
export type PbField = { readonly field: number; readonly varint: bigint; readonly bytes?: undefined } | { readonly field: number; readonly bytes: Uint8Array; readonly varint?: undefined };

/** Thrown for bytes that are not a protobuf message of the two supported wire types. */
export class PbDecodeError extends Error {}

/** Builds one message, fields in the order they are added (gogo writes them in field-number order). */
export class PbWriter {
  private readonly parts: number[] = [];

  /** A varint field; negative numbers are written as 64-bit two's complement (int64), as Go does. */
  uint(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.rawVarint(BigInt.asUintN(64, BigInt(value)));
    return this;
  }

  /** A bool field (varint 0 or 1). */
  bool(field: number, value: boolean): this {
    return this.uint(field, value ? 1 : 0);
  }

  /** A length-delimited field. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.rawVarint(BigInt(value.length));
    for (const byte of value) this.parts.push(byte);
    return this;
  }

  /** A string field, UTF-8. */
  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, "utf8"));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint(BigInt(field * 8 + wireType));
  }

  private rawVarint(value: bigint): void {
    let rest = value;
    while (rest >= 0x80n) {
      this.parts.push(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    this.parts.push(Number(rest));
  }
}

/** Every field of a message in order. Throws PbDecodeError on a bad tag, an overlong varint or a short field. */
export function readFields(buf: Uint8Array): PbField[] {
  const fields: PbField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new PbDecodeError("proto: unexpected EOF");
      const byte = buf[pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, result);
    }
    throw new PbDecodeError("proto: integer overflow");
  };
  while (pos < buf.length) {
    const tag = varint();
    const field = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (field === 0) throw new PbDecodeError("proto: illegal tag 0 (wire type " + wireType + ")");
    if (wireType === 0) fields.push({ field, varint: varint() });
    else if (wireType === 2) {
      const length = Number(varint());
      if (pos + length > buf.length) throw new PbDecodeError("proto: unexpected EOF");
      fields.push({ field, bytes: buf.subarray(pos, pos + length) });
      pos += length;
    } else throw new PbDecodeError(`proto: wrong wireType = ${wireType} for field ${field}`);
  }
  return fields;
}

/** The varint of `field` (last one wins, as in protobuf), or `fallback`. */
export function varintOf(fields: readonly PbField[], field: number, fallback = 0n): bigint {
  let value = fallback;
  for (const f of fields) if (f.field === field && f.varint !== undefined) value = f.varint;
  return value;
}

/** The bytes of `field` (last one wins), or undefined when absent. */
export function bytesOf(fields: readonly PbField[], field: number): Uint8Array | undefined {
  let value: Uint8Array | undefined;
  for (const f of fields) if (f.field === field && f.bytes !== undefined) value = f.bytes;
  return value;
}

/** A signed int64 field's value (two's complement back to a negative bigint). */
export function int64(value: bigint): bigint {
  return BigInt.asIntN(64, value);
}

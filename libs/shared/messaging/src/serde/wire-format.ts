/**
 * Confluent wire format: byte 0 is the magic byte 0, bytes 1-4 the schema id (big-endian
 * int32), the rest the Avro binary body.
 */
import { NotWireFormatError } from './serde-errors';

export const MAGIC_BYTE = 0;
export const WIRE_HEADER_LENGTH = 5;

/** The header of a wire-format message and a view (not a copy) of its body. */
export interface WireMessage {
  schemaId: number;
  body: Buffer;
}

/**
 * Splits a message into schema id and body.
 * @throws {NotWireFormatError} with the reason, for empty, short or non-zero-magic input.
 */
export function readWireHeader(bytes: Buffer): WireMessage {
  return { schemaId: schemaIdOf(bytes), body: bytes.subarray(WIRE_HEADER_LENGTH) };
}

/**
 * The schema id of a wire-format message, without allocating anything.
 * @throws {NotWireFormatError} with the reason, for empty, short or non-zero-magic input.
 */
export function schemaIdOf(bytes: Buffer): number {
  if (bytes.length === 0) throw new NotWireFormatError('empty message');
  if (bytes[0] !== MAGIC_BYTE) {
    const ch = bytes[0] >= 0x20 && bytes[0] < 0x7f ? ` ('${String.fromCharCode(bytes[0])}')` : '';
    const hint = bytes[0] === 0x7b ? ', looks like JSON' : '';
    throw new NotWireFormatError(
      `magic byte is 0x${bytes[0].toString(16).padStart(2, '0')}${ch}, expected 0x00${hint}`,
    );
  }
  if (bytes.length < WIRE_HEADER_LENGTH) {
    throw new NotWireFormatError(`${bytes.length} bytes is shorter than the ${WIRE_HEADER_LENGTH}-byte header`);
  }
  const schemaId = bytes.readInt32BE(1);
  if (schemaId < 0) throw new NotWireFormatError(`schema id ${schemaId} is not a registry id`);
  return schemaId;
}

/** Encodes an Avro body after a header into the buffer it is given; returns the end, or -1 if it did not fit. */
export type BodyWriter = (buffer: Buffer, offset: number) => number;

/**
 * Hands out wire-format messages carved from a shared slab, the way `Buffer.allocUnsafe` pools
 * small buffers: one encode then costs one write and a `subarray`, not an allocation and a
 * copy. Regions already handed out are never written again.
 */
export class WireSlab {
  private slab: Buffer;
  private offset = 0;
  private readonly slabSize: number;

  /** @param slabSize bytes per slab; a message larger than a slab gets its own. @default 65536 */
  constructor(slabSize = 64 * 1024) {
    this.slabSize = slabSize;
    this.slab = Buffer.allocUnsafe(slabSize);
  }

  /** Writes header and body; the result stays valid for as long as the caller keeps it. */
  write(schemaId: number, writeBody: BodyWriter): Buffer {
    let size = this.slabSize;
    for (;;) {
      const start = this.offset;
      const end = this.tryWrite(start, schemaId, writeBody);
      if (end >= 0) {
        // Keep 8-byte alignment for the next message, as Node's own pool does.
        this.offset = (end + 7) & ~7;
        return this.slab.subarray(start, end);
      }
      // Did not fit: start a fresh slab (growing it for messages larger than a whole slab).
      if (start === 0) size *= 2;
      this.slab = Buffer.allocUnsafe(Math.max(size, this.slabSize));
      this.offset = 0;
    }
  }

  private tryWrite(start: number, schemaId: number, writeBody: BodyWriter): number {
    if (this.slab.length - start < WIRE_HEADER_LENGTH + 1) return -1;
    this.slab[start] = MAGIC_BYTE;
    this.slab.writeInt32BE(schemaId, start + 1);
    const end = writeBody(this.slab, start + WIRE_HEADER_LENGTH);
    return end < 0 ? -1 : end;
  }
}

/**
 * The safetensors format (huggingface/safetensors), float32 only: an 8-byte little-endian
 * header length, a JSON header naming each tensor's dtype, shape and byte range, then the
 * raw little-endian data. PyTorch exports state dicts in it, and our checkpoints store their
 * weights in it, so one validated reader serves both.
 */
import * as fs from "node:fs";
import type { StateDict } from "./module";

/** A file that is not a usable safetensors file; the message says why and what to do. */
class SafetensorsError extends Error {
  constructor(source: string, reason: string) {
    super(`${source}: ${reason}`);
    this.name = "SafetensorsError";
  }
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The bytes of a safetensors file holding `tensors` (in their order) and string metadata. */
export function encodeSafetensors(
  tensors: StateDict,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.values.length * 4;
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces (allowed by the format) so that the data starts 8-byte aligned.
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength), at);
    at += t.values.byteLength;
  }
  return out;
}

/**
 * Parses safetensors bytes. Every entry is checked (float32, shape matching its byte range,
 * ranges inside the data, contiguous and not overlapping) before anything is returned.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = "safetensors",
): { tensors: StateDict; metadata: Record<string, string> } {
  const bad = (reason: string): SafetensorsError =>
    new SafetensorsError(source, `${reason} (not a valid float32 safetensors file)`);
  if (bytes.byteLength < 8) throw bad(`only ${bytes.byteLength} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8) {
    throw bad(`header length ${headerLength} exceeds the file's ${bytes.byteLength} bytes`);
  }
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString());
  } catch (e) {
    throw bad(`unreadable header (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw bad("the header is not a JSON object");
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Array<[string, HeaderEntry]> = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) {
        if (typeof v !== "string") throw bad(`metadata "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = value as Partial<HeaderEntry> | null;
    const offsets = e?.data_offsets;
    const shape = e?.shape;
    if (
      e === null ||
      typeof e !== "object" ||
      !Array.isArray(shape) ||
      !shape.every((s) => Number.isInteger(s) && s >= 0) ||
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0)
    ) {
      throw bad(`entry "${name}" is malformed`);
    }
    if (e.dtype !== "F32") {
      throw new SafetensorsError(
        source,
        `tensor "${name}" is ${String(e.dtype)}; only F32 is supported (export with tensor.float())`,
      );
    }
    const [begin, end] = offsets as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end < begin || end > dataLength || end - begin !== count * 4) {
      throw bad(
        `tensor "${name}" [${shape.join(", ")}] has bytes ${begin}..${end} of ${dataLength}`,
      );
    }
    entries.push([name, { dtype: "F32", shape, data_offsets: [begin, end] }]);
  }
  // The data must be covered exactly, in order: no holes, no overlaps.
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let expected = 0;
  for (const [name, e] of sorted) {
    if (e.data_offsets[0] !== expected) {
      throw bad(`tensor "${name}" starts at byte ${e.data_offsets[0]}, expected ${expected}`);
    }
    expected = e.data_offsets[1];
  }
  if (expected !== dataLength) throw bad(`${dataLength - expected} bytes after the last tensor`);
  const tensors: StateDict = new Map();
  for (const [name, e] of entries) {
    const [begin, end] = e.data_offsets;
    // Copied into an aligned buffer: a file's data may start at any byte offset.
    const values = new Float32Array((end - begin) / 4);
    new Uint8Array(values.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { shape: e.shape, values });
  }
  return { tensors, metadata };
}

/** A state dict read from a .safetensors file (e.g. exported from PyTorch). */
export function readStateDict(file: string): StateDict {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new SafetensorsError(file, `cannot be read (${(e as Error).message})`);
  }
  return decodeSafetensors(bytes, file).tensors;
}

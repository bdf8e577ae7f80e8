/**
 * Reader for the IDX files of MNIST and Fashion-MNIST (gzip-compressed or raw).
 *
 * Format (all integers big-endian): two zero bytes, a type byte (0x08 = unsigned byte),
 * the number of dimensions d, then d uint32 sizes, then the items, row-major.
 * Images are idx3 (magic 0x00000803 = 2051): count x rows x cols; labels are idx1
 * (magic 0x00000801 = 2049): one byte per item.
 */
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import { DataError } from "./data-error";

/** Magic number of an idx3 unsigned-byte file (images). */
const IMAGES_MAGIC = 0x00000803;
/** Magic number of an idx1 unsigned-byte file (labels). */
const LABELS_MAGIC = 0x00000801;

/** The parsed content of an IDX file: its sizes and its bytes (no copy of the file body). */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** True for bytes that start with the gzip magic 1f 8b. */
function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Gunzips when the bytes are gzip, else returns them as they are. `file` names them in
 * errors; `fix` says what to do about a damaged file where it was found (as for a wrong
 * checksum: a file in MNIST_DIR is replaced by hand, one in the cache is deleted).
 */
export function decompressIfGzip(
  bytes: Uint8Array,
  file: string,
  fix = "replace it with a complete copy of the original",
): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return zlib.gunzipSync(bytes);
  } catch (e) {
    throw new DataError(file, `truncated or corrupt gzip (${(e as Error).message}); ${fix}`);
  }
}

/**
 * Parses decompressed IDX bytes. Checks the magic number (when `expectedMagic` is given),
 * the element type and that the file length matches the header's sizes exactly.
 */
export function parseIdx(bytes: Uint8Array, file: string, expectedMagic?: number): IdxArray {
  if (bytes.length < 4) {
    throw new DataError(file, `only ${bytes.length} bytes, too short for an IDX header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    throw new DataError(
      file,
      `wrong magic number 0x${hex8(magic)} (expected 0x${hex8(expectedMagic)}, ` +
        `${expectedMagic === IMAGES_MAGIC ? "an idx3 image file" : "an idx1 label file"}); ` +
        `this is not the file its name says, replace it with the original`,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    throw new DataError(
      file,
      `not an unsigned-byte IDX file (header 0x${hex8(magic)}); replace it with the original`,
    );
  }
  const ndims = bytes[3]!;
  const headerLength = 4 + 4 * ndims;
  if (ndims === 0 || bytes.length < headerLength) {
    throw new DataError(file, `IDX header with ${ndims} dimensions is cut short; replace the file`);
  }
  const dims: number[] = [];
  let items = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    items *= d;
  }
  const expected = headerLength + items;
  if (bytes.length !== expected) {
    throw new DataError(
      file,
      `header says ${dims.join(" x ")} items (${expected} bytes) but the file holds ` +
        `${bytes.length} bytes (${bytes.length < expected ? "truncated" : "trailing data"}); ` +
        `replace it with a complete copy`,
    );
  }
  return { dims, data: bytes.subarray(headerLength) };
}

/** Raw pixels of an idx3 image file: `count` images of rows x cols bytes. */
export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  readonly pixels: Uint8Array;
}

/** Parses decompressed idx3 bytes as images of the given size (28 x 28 unless told). */
export function parseImages(bytes: Uint8Array, file: string, rows = 28, cols = 28): IdxImages {
  const idx = parseIdx(bytes, file, IMAGES_MAGIC);
  const [count, r, c] = idx.dims as [number, number, number];
  if (idx.dims.length !== 3 || r !== rows || c !== cols) {
    throw new DataError(
      file,
      `wrong dimensions ${idx.dims.join(" x ")} (expected N x ${rows} x ${cols}); ` +
        `this is not an MNIST-style image file, replace it with the original`,
    );
  }
  return { count, rows, cols, pixels: idx.data };
}

/** Parses decompressed idx1 bytes as class labels, each in 0 .. numClasses-1. */
export function parseLabels(bytes: Uint8Array, file: string, numClasses = 10): Int32Array {
  const idx = parseIdx(bytes, file, LABELS_MAGIC);
  if (idx.dims.length !== 1) {
    throw new DataError(file, `wrong dimensions ${idx.dims.join(" x ")} (expected N)`);
  }
  const labels = new Int32Array(idx.data.length);
  for (let i = 0; i < labels.length; i++) {
    const v = idx.data[i]!;
    if (v >= numClasses) {
      throw new DataError(
        file,
        `label ${v} of item ${i} is outside 0-${numClasses - 1}; the file is corrupt, replace it`,
      );
    }
    labels[i] = v;
  }
  return labels;
}

/** Reads a file whole; a missing or unreadable file becomes a DataError saying so. */
export function readFileBytes(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    throw new DataError(
      file,
      `cannot read it (${code || (e as Error).message}); check that it exists and is readable`,
    );
  }
}

/** Encodes an unsigned-byte IDX file (used by tests and to restore the npm fallback). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const items = dims.reduce((a, b) => a * b, 1);
  if (items !== data.length) {
    throw new Error(`encodeIdx: ${dims.join(" x ")} = ${items} items but ${data.length} bytes`);
  }
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/**
 * PNG encoding with node:zlib only: 8-bit gray, RGB or RGBA, one IDAT chunk, no
 * ancillary chunks (no time stamp, no gamma), so the same pixels always give the same bytes.
 */
import * as zlib from "node:zlib";

/** Raw 8-bit pixels, row-major, `channels` bytes per pixel. */
export interface RasterImage {
  width: number;
  height: number;
  /** 1 = gray, 3 = RGB, 4 = RGBA. */
  channels: 1 | 3 | 4;
  /** width * height * channels bytes. */
  data: Uint8Array;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const COLOR_TYPE: Record<RasterImage["channels"], number> = { 1: 0, 3: 2, 4: 6 };

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, the one PNG chunks use) of a byte sequence. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/** Encodes 8-bit pixels as PNG bytes (deterministic for a given Node/zlib). */
export function encodePng(image: RasterImage): Uint8Array {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(
      `encodePng: width and height must be positive integers, got ${width}x${height}`,
    );
  }
  if (!(channels in COLOR_TYPE))
    throw new Error(`encodePng: channels must be 1, 3 or 4, got ${channels}`);
  const stride = width * channels;
  if (data.length !== stride * height) {
    throw new Error(
      `encodePng: expected ${width}*${height}*${channels} = ${stride * height} bytes, got ${data.length}`,
    );
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = COLOR_TYPE[channels];
  // compression 0, filter method 0, no interlace: bytes 10-12 stay 0.

  // Filter "up" (type 2) on every row: cheap, and it shrinks image grids well.
  const filtered = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1);
    filtered[row] = y === 0 ? 0 : 2;
    const cur = y * stride;
    if (y === 0) filtered.set(data.subarray(0, stride), row + 1);
    else
      for (let i = 0; i < stride; i++)
        filtered[row + 1 + i] = (data[cur + i]! - data[cur - stride + i]!) & 0xff;
  }
  const idat = zlib.deflateSync(filtered, { level: 9 });
  const parts = [
    SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Width and height from a PNG's IHDR, checking the signature. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  if (png.length < 24 || SIGNATURE.some((b, i) => png[i] !== b)) {
    throw new Error("pngSize: not PNG bytes (bad signature)");
  }
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

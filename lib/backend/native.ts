/**
 * The native addon (native/, oneDNN behind Node-API): loaded once, or the reason it cannot
 * be, in words a user can act on. Built by `npm run build:native` (tools/setup.sh runs it
 * when g++, make and oneDNN's headers are there); DLC_NATIVE_ADDON names another file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readSettings } from "../settings";

/** What the addon exports (native/src/addon.cc). Tensors are element offsets into `heap`. */
export interface NativeAddon {
  convForward(
    heap: Float32Array,
    geometry: Int32Array,
    x: number,
    filter: number,
    bias: number,
    y: number,
    activation: number,
    alpha: number,
  ): void;
  /** which 0: dx from (dy, filter); which 1: dw from (x, dy). */
  convBackward(
    heap: Float32Array,
    geometry: Int32Array,
    which: 0 | 1,
    a: number,
    b: number,
    out: number,
  ): void;
  matmul(
    heap: Float32Array,
    sizes: Int32Array,
    a: number,
    b: number,
    bias: number,
    c: number,
    activation: number,
    alpha: number,
  ): void;
  copyRows(
    heap: Float32Array,
    src: number,
    srcStride: number,
    dst: number,
    dstStride: number,
    rows: number,
    run: number,
  ): void;
  sumRows(heap: Float32Array, x: number, rows: number, cols: number, out: number): void;
  maxPoolGrad(heap: Float32Array, geometry: Int32Array, x: number, dy: number, dx: number): void;
  info(): { version: string; isa: string; threads: number };
  setThreads(n: number): void;
  /** One thread's float32 fused multiply-adds per second, measured (about 0.5 s). */
  peak(): { gflops: number; lanes: number };
}

export type Loaded = { ok: true; addon: NativeAddon } | { ok: false; reason: string };

const HOW =
  "for the fast CPU path run `npm run build:native` " +
  "(needs g++, make and oneDNN: sudo apt-get install -y g++ make libdnnl-dev)";

let loaded: Loaded | null = null;

/** Where the addon is looked for: DLC_NATIVE_ADDON, else node-gyp's output in native/. */
function addonPath(): string {
  const s = readSettings();
  return s.nativeAddon ?? path.join(s.root, "native", "build", "Release", "dlc7_native.node");
}

/** Loads the addon once; later calls return the same answer. */
export function loadNative(): Loaded {
  if (loaded !== null) return loaded;
  const file = addonPath();
  if (process.platform !== "linux" || process.arch !== "x64") {
    return (loaded = {
      ok: false,
      reason: `no native build for ${process.platform}-${process.arch}`,
    });
  }
  if (!fs.existsSync(file)) {
    return (loaded = { ok: false, reason: `the addon is not built (${file}); ${HOW}` });
  }
  // OpenMP's threads sleep between kernels instead of spinning: a second process (or the
  // other notebook) keeps its core. Read by libgomp when the addon loads it.
  process.env.OMP_WAIT_POLICY ??= "passive";
  try {
    const addon = require(file) as NativeAddon;
    addon.info();
    return (loaded = { ok: true, addon });
  } catch (e) {
    const why = (e as Error).message.split("\n")[0];
    return (loaded = { ok: false, reason: `the addon failed to load (${why}); ${HOW}` });
  }
}

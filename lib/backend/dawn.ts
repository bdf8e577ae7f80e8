/**
 * Dawn in Node (the `webgpu` package's native dawn.node): finds the module, asks it for an
 * adapter, says whether the adapter is a real GPU or a software renderer, and when there is
 * none, says why (no Vulkan loader, no Vulkan driver manifest, no EGL, no package).
 *
 * The package's own index.js is an ES module that Node 20 cannot require from our CommonJS
 * library, so we load dawn.node itself. DLC_DAWN_NODE=/path/to/dawn.node overrides where it
 * is looked for (the bundled benchmark carries it beside the bundle).
 */
import { readSettings, type SystemPaths } from "../settings";
import * as fs from "node:fs";
import * as path from "node:path";

/** The part of the WebGPU adapter info that Dawn fills in. */
export interface AdapterInfoLike {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}

/** The GPU object that dawn.node's create() returns, as far as we use it. */
export interface DawnGpu {
  requestAdapter(options?: {
    powerPreference?: "low-power" | "high-performance";
    featureLevel?: "core" | "compatibility";
  }): Promise<GPUAdapter | null>;
}

interface DawnModule {
  create(flags: string[]): DawnGpu;
  globals: Record<string, unknown>;
}

/** How one adapter request is made: Dawn flags, request options, and a label for reports. */
export interface AdapterRoute {
  label: string;
  flags: string[];
  featureLevel: "core" | "compatibility";
  /** Environment variables the route needs (set only where unset). */
  env: Record<string, string>;
}

/** The default route: Vulkan on Linux (Metal, D3D12 elsewhere), full WebGPU. */
export const NATIVE_ROUTE: AdapterRoute = {
  label: process.platform === "linux" ? "Vulkan" : "native",
  flags: [],
  featureLevel: "core",
  env: {},
};

/**
 * OpenGL ES through EGL without a display: on a machine without a GPU this is Mesa's
 * llvmpipe, a software renderer, used only when the webgpu backend is forced.
 */
export const GLES_ROUTE: AdapterRoute = {
  label: "OpenGL ES",
  flags: ["backend=opengles"],
  featureLevel: "compatibility",
  env: { EGL_PLATFORM: "surfaceless" },
};

export type Found<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Where dawn.node is for this platform, or why it is not there. */
export function dawnModulePath(override: string | null = readSettings().dawnNode): Found<string> {
  if (override !== null) {
    return fs.existsSync(override)
      ? { ok: true, value: override }
      : { ok: false, reason: `DLC_DAWN_NODE=${override}: no such file` };
  }
  let root: string;
  try {
    root = path.dirname(require.resolve("webgpu/package.json"));
  } catch {
    return { ok: false, reason: "the webgpu package (Dawn for Node) is not installed: run npm ci" };
  }
  const arch = process.platform === "darwin" ? "universal" : process.arch;
  const file = path.join(root, "dist", `${process.platform}-${arch}`, "dawn.node");
  return fs.existsSync(file)
    ? { ok: true, value: file }
    : { ok: false, reason: `the webgpu package has no Dawn build for ${process.platform}-${arch}` };
}

let loaded: DawnModule | null = null;

/** Loads dawn.node once, and defines the WebGPU globals tfjs-backend-webgpu refers to. */
function loadDawn(): Found<DawnModule> {
  if (loaded !== null) return { ok: true, value: loaded };
  const where = dawnModulePath();
  if (!where.ok) return where;
  try {
    loaded = require(where.value) as DawnModule;
  } catch (e) {
    const first = (e as Error).message.split("\n")[0];
    return { ok: false, reason: `Dawn (${where.value}) failed to load: ${first}` };
  }
  // tfjs-backend-webgpu uses these as globals (instanceof GPUBuffer, GPUBufferUsage.STORAGE).
  for (const name of [
    "GPUBuffer",
    "GPUTexture",
    "GPUBufferUsage",
    "GPUMapMode",
    "GPUTextureUsage",
  ]) {
    const g = globalThis as Record<string, unknown>;
    if (g[name] === undefined) g[name] = loaded.globals[name];
  }
  return { ok: true, value: loaded };
}

/**
 * Whether a shared library can be loaded by name: in the dynamic linker's cache, in
 * LD_LIBRARY_PATH, or in the usual folders (a library unpacked without ldconfig).
 */
export function sharedLibraryFound(
  name: string,
  system: SystemPaths = readSettings().system,
): boolean {
  try {
    if (fs.readFileSync("/etc/ld.so.cache").includes(`/${name}\0`)) return true;
  } catch {
    // No cache: look in the folders.
  }
  const dirs = [
    ...system.ldLibraryPath,
    `/lib/${process.arch === "x64" ? "x86_64" : "aarch64"}-linux-gnu`,
    `/usr/lib/${process.arch === "x64" ? "x86_64" : "aarch64"}-linux-gnu`,
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/usr/local/lib",
  ];
  return dirs.some((d) => fs.existsSync(path.join(d, name)));
}

/** The Vulkan driver manifests (ICDs) the loader would read, by the loader's search rules. */
export function vulkanDriverManifests(system: SystemPaths = readSettings().system): {
  searched: string[];
  found: string[];
} {
  const entries = system.vulkanDriverFiles
    ? [...system.vulkanDriverFiles]
    : [
        ...system.xdgConfigDirs.map((d) => `${d}/vulkan/icd.d`),
        "/etc/vulkan/icd.d",
        ...system.xdgDataDirs.map((d) => `${d}/vulkan/icd.d`),
      ];
  const found: string[] = [];
  for (const entry of entries) {
    try {
      if (fs.statSync(entry).isDirectory()) {
        for (const f of fs.readdirSync(entry).sort()) {
          if (f.endsWith(".json")) found.push(path.join(entry, f));
        }
      } else {
        found.push(entry);
      }
    } catch {
      // Missing folder or file: nothing there.
    }
  }
  return { searched: entries, found };
}

/**
 * Why a route cannot give an adapter before Dawn is even asked, or null when it may: a
 * missing Vulkan loader or EGL library (Dawn would only print a warning and find nothing).
 */
function routePrecondition(route: AdapterRoute): string | null {
  if (process.platform !== "linux") return null;
  if (route === NATIVE_ROUTE && !sharedLibraryFound("libvulkan.so.1")) {
    return "no Vulkan loader (libvulkan.so.1): on Debian/Ubuntu apt-get install libvulkan1";
  }
  if (route === GLES_ROUTE && !sharedLibraryFound("libEGL.so")) {
    return (
      "no EGL library for Dawn's OpenGL ES backend (it loads libEGL.so): " +
      "on Debian apt-get install libegl-dev libegl-mesa0 libgl1-mesa-dri"
    );
  }
  return null;
}

/** Why Dawn found no adapter on a route whose libraries are present. */
export function noAdapterReason(
  route: AdapterRoute,
  system: SystemPaths = readSettings().system,
): string {
  if (route === NATIVE_ROUTE && process.platform === "linux") {
    const icds = vulkanDriverManifests(system);
    if (icds.found.length === 0) {
      return (
        `Vulkan loader present but no Vulkan driver manifest (ICD) in ${icds.searched.join(", ")}: ` +
        "install the GPU driver's Vulkan support (NVIDIA: the driver ships nvidia_icd.json; " +
        "point VK_DRIVER_FILES at it)"
      );
    }
    const names = icds.found
      .map((f) => path.basename(f) + (/lvp|swiftshader/i.test(f) ? " (software)" : ""))
      .join(", ");
    return (
      `Dawn found no usable Vulkan adapter (driver manifests: ${names}); ` +
      "is the GPU visible here (/dev/nvidia*, /dev/dri)?"
    );
  }
  if (route === GLES_ROUTE) {
    return "Dawn found no OpenGL ES adapter through EGL (surfaceless): is Mesa's libegl-mesa0 installed?";
  }
  return `Dawn found no ${route.label} adapter`;
}

/** Software renderers: a CPU pretending to be a GPU (slower than our wasm kernels). */
const SOFTWARE =
  /llvmpipe|lavapipe|softpipe|swiftshader|software rasteri[sz]er|microsoft basic render/i;

/** Whether an adapter is a software renderer rather than a GPU. */
export function isSoftwareAdapter(info: AdapterInfoLike): boolean {
  if (info.isFallbackAdapter === true) return true;
  return [info.vendor, info.architecture, info.device, info.description].some((s) =>
    SOFTWARE.test(s ?? ""),
  );
}

/** A readable adapter name: its device and description, without repeats or blanks. */
export function adapterName(info: AdapterInfoLike): string {
  const parts: string[] = [];
  for (const s of [info.description, info.device, [info.vendor, info.architecture].join(" ")]) {
    const t = (s ?? "").trim().replace(/-+$/, "");
    if (t !== "" && !parts.some((p) => p.includes(t))) parts.push(t);
  }
  return parts.length > 0 ? parts.join(", ") : "unnamed adapter";
}

/** An adapter Dawn gave, with the GPU object that must outlive it (see requestAdapter). */
export interface DawnAdapter {
  adapter: GPUAdapter;
  info: AdapterInfoLike;
  route: AdapterRoute;
  gpu: DawnGpu;
}

/**
 * Asks Dawn for an adapter on one route. The returned `gpu` must stay referenced while the
 * device is used: when it is collected, Dawn stops processing events and pending reads
 * never resolve (Node then exits silently with work outstanding).
 */
export async function requestAdapter(route: AdapterRoute): Promise<Found<DawnAdapter>> {
  const pre = routePrecondition(route);
  if (pre !== null) return { ok: false, reason: pre };
  const dawn = loadDawn();
  if (!dawn.ok) return dawn;
  // Environment Dawn's libraries read (EGL's platform), set for them when not set already.
  for (const [k, v] of Object.entries(route.env)) process.env[k] ||= v;
  let gpu: DawnGpu;
  let adapter: GPUAdapter | null;
  try {
    gpu = dawn.value.create(route.flags);
    adapter = await gpu.requestAdapter({
      powerPreference: "high-performance",
      featureLevel: route.featureLevel,
    });
  } catch (e) {
    return { ok: false, reason: `Dawn (${route.label}): ${(e as Error).message.split("\n")[0]}` };
  }
  if (adapter === null) return { ok: false, reason: noAdapterReason(route) };
  const info = (adapter as unknown as { info: AdapterInfoLike }).info;
  return { ok: true, value: { adapter, info, route, gpu } };
}

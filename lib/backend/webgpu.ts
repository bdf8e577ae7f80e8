/**
 * The tfjs `webgpu` backend on a Dawn adapter in Node. Chosen by default only for a real
 * GPU (Vulkan on Linux); a software renderer (llvmpipe, lavapipe, SwiftShader) is used only
 * when forced (DLC_BACKEND=webgpu), and then Mesa's OpenGL ES route is tried too.
 *
 * tfjs-backend-webgpu registers itself only where `navigator.gpu` exists, and reads it in
 * its constructor: we register our own factory over the device we chose instead.
 */
import * as tf from "@tensorflow/tfjs";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import {
  GLES_ROUTE,
  NATIVE_ROUTE,
  adapterName,
  isSoftwareAdapter,
  requestAdapter,
  type AdapterRoute,
  type DawnAdapter,
  type DawnGpu,
  type Found,
} from "./dawn";
import { registerWebGpuKernels } from "./webgpu-kernels";

/** Result of probing for a backend: usable, or the reason it is not. */
export type Probe = { ok: true; detail: string } | { ok: false; reason: string };

export interface WebGpuProbeOptions {
  /** Accept a software renderer, and try Mesa's OpenGL ES route (DLC_BACKEND=webgpu). */
  allowSoftware: boolean;
}

interface Active {
  dawn: DawnAdapter;
  device: GPUDevice;
  software: boolean;
  detail: string;
  /** GPU errors no one caught (tfjs checks none): validation, out of memory, device lost. */
  errors: string[];
}

let active: Active | null = null;

/** The Dawn adapter the webgpu backend runs on, once registered. */
export function webGpuAdapter(): { name: string; software: boolean; route: string } | null {
  if (active === null) return null;
  return {
    name: adapterName(active.dawn.info),
    software: active.software,
    route: active.dawn.route.label,
  };
}

/** GPU errors reported by Dawn since the device was made (empty when all is well). */
export function webGpuErrors(): readonly string[] {
  return active?.errors ?? [];
}

/** Runs `make` with `navigator.gpu` defined, as tfjs-backend-webgpu's constructor requires. */
function withNavigatorGpu<T>(gpu: DawnGpu, make: () => T): T {
  const g = globalThis as { navigator?: Record<string, unknown> };
  if (g.navigator?.gpu !== undefined) return make();
  const own = g.navigator === undefined;
  if (own) Object.defineProperty(g, "navigator", { value: {}, configurable: true });
  const nav = g.navigator as Record<string, unknown>;
  Object.defineProperty(nav, "gpu", { value: gpu, configurable: true });
  try {
    return make();
  } finally {
    delete nav.gpu;
    if (own) delete g.navigator;
  }
}

const SYNC_READ =
  "the webgpu backend in Node cannot read a GPU tensor synchronously (dataSync, arraySync, " +
  "bufferSync): WebGPU reads are asynchronous. Use await tensor.data() or tensor.array(), " +
  "or another backend (DLC_BACKEND=wasm).";

/** tfjs-backend-webgpu with a clear error where its synchronous read needs OffscreenCanvas. */
function nodeBackendClass(): new (device: GPUDevice, info: unknown) => WebGPUBackend {
  const { WebGPUBackend: Base } =
    require("@tensorflow/tfjs-backend-webgpu") as typeof import("@tensorflow/tfjs-backend-webgpu");
  return class NodeWebGpuBackend extends Base {
    override readSync(dataId: object): ReturnType<WebGPUBackend["readSync"]> {
      const data = this.tensorMap.get(dataId);
      const onGpu = data !== undefined && data.values == null && data.dtype !== "string";
      if (
        onGpu &&
        typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === "undefined"
      ) {
        throw new Error(SYNC_READ);
      }
      return super.readSync(dataId);
    }
  } as unknown as new (device: GPUDevice, info: unknown) => WebGPUBackend;
}

/** The device tfjs asks for: the adapter's own limits where tfjs relies on large ones. */
async function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const names = [
    "maxComputeWorkgroupStorageSize",
    "maxComputeWorkgroupsPerDimension",
    "maxStorageBufferBindingSize",
    "maxBufferSize",
    "maxComputeWorkgroupSizeX",
    "maxComputeInvocationsPerWorkgroup",
  ] as const;
  const requiredLimits: Record<string, number> = {};
  for (const n of names) requiredLimits[n] = adapter.limits[n];
  return adapter.requestDevice({ requiredLimits });
}

function watchErrors(device: GPUDevice, errors: string[]): void {
  const seen = new Set<string>();
  device.addEventListener("uncapturederror", (event) => {
    const message = (event as GPUUncapturedErrorEvent).error.message;
    // Dawn prints each error itself; keep them for webGpuErrors().
    if (seen.has(message)) return;
    seen.add(message);
    errors.push(message);
  });
  void device.lost.then((info) => {
    if (info.reason === "destroyed") return;
    errors.push(`device lost: ${info.message}`);
    console.error(`webgpu: device lost (${info.message}); restart the process`);
  });
}

async function register(dawn: DawnAdapter, software: boolean): Promise<Active> {
  const device = await requestDevice(dawn.adapter);
  const errors: string[] = [];
  watchErrors(device, errors);
  const Backend = nodeBackendClass();
  const kernels = registerWebGpuKernels();
  if (tf.findBackendFactory("webgpu") !== null) tf.removeBackend("webgpu");
  tf.registerBackend("webgpu", () =>
    withNavigatorGpu(dawn.gpu, () => new Backend(device, dawn.info)),
  );
  const detail =
    `${adapterName(dawn.info)} via ${dawn.route.label}` +
    (software ? ", software renderer" : "") +
    `, our kernels: ${kernels.join(", ")}`;
  return { dawn, device, software, detail, errors };
}

/**
 * Asks each route in turn for an adapter and takes the first acceptable one: a software
 * renderer only when `allowSoftware`. Says why for each route that gave none.
 */
export async function chooseAdapter(
  routes: readonly AdapterRoute[],
  allowSoftware: boolean,
  request: (route: AdapterRoute) => Promise<Found<DawnAdapter>> = requestAdapter,
): Promise<Found<{ dawn: DawnAdapter; software: boolean }>> {
  const reasons: string[] = [];
  for (const route of routes) {
    const found = await request(route);
    if (!found.ok) {
      reasons.push(found.reason);
      continue;
    }
    const software = isSoftwareAdapter(found.value.info);
    if (software && !allowSoftware) {
      reasons.push(
        `only a software renderer (${adapterName(found.value.info)}), slower than wasm; ` +
          "DLC_BACKEND=webgpu uses it anyway",
      );
      continue;
    }
    return { ok: true, value: { dawn: found.value, software } };
  }
  return { ok: false, reason: `no GPU adapter: ${reasons.join("; ")}` };
}

/**
 * Looks for a real GPU adapter without opening a device: its readable name, or why there is
 * none. (What initBackend reports when webgpu is not asked for.)
 */
export async function findGpuAdapter(): Promise<Found<string>> {
  const chosen = await chooseAdapter([NATIVE_ROUTE], false);
  return chosen.ok ? { ok: true, value: adapterName(chosen.value.dawn.info) } : chosen;
}

/**
 * Finds an adapter, registers the `webgpu` backend on it and switches to it. A software
 * adapter is refused unless `allowSoftware`, which also adds Mesa's OpenGL ES route. Later
 * calls reuse the first device.
 */
export async function probeWebGpu(options: WebGpuProbeOptions): Promise<Probe> {
  if (active === null) {
    const routes = options.allowSoftware ? [NATIVE_ROUTE, GLES_ROUTE] : [NATIVE_ROUTE];
    const chosen = await chooseAdapter(routes, options.allowSoftware);
    if (!chosen.ok) return chosen;
    active = await register(chosen.value.dawn, chosen.value.software);
  }
  if (active.software && !options.allowSoftware) {
    return { ok: false, reason: `only a software renderer (${adapterName(active.dawn.info)})` };
  }
  const ok = await tf.setBackend("webgpu").catch(() => false);
  if (!ok || tf.getBackend() !== "webgpu") {
    return { ok: false, reason: `the webgpu backend did not initialise on ${active.detail}` };
  }
  return { ok: true, detail: active.detail };
}

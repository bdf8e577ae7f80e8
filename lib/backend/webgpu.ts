/**
 * Hook for a WebGPU backend on a real GPU adapter. Its own issue fills it in; until
 * then it reports why it is not available, and selection moves on to wasm.
 */

/** Result of probing for a backend: usable, or the reason it is not. */
export type Probe = { ok: true; detail: string } | { ok: false; reason: string };

/**
 * Probes for a WebGPU adapter and, when one exists, registers and initialises the
 * `webgpu` backend. Returns the reason when it cannot.
 */
export async function probeWebGpu(): Promise<Probe> {
  return {
    ok: false,
    reason: "not wired yet (no @tensorflow/tfjs-backend-webgpu and no GPU adapter in Node)",
  };
}

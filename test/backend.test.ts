/** Backend selection: one report line, idempotent, forced choices checked, no silent fallback. */
import { readSettings } from "../lib/settings";
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { backendReport, initBackend, type BackendName } from "../lib/backend";
import {
  GLES_ROUTE,
  NATIVE_ROUTE,
  adapterName,
  dawnModulePath,
  isSoftwareAdapter,
  noAdapterReason,
  sharedLibraryFound,
  vulkanDriverManifests,
  type AdapterInfoLike,
  type AdapterRoute,
  type DawnAdapter,
  type DawnGpu,
  type Found,
} from "../lib/backend/dawn";
import { chooseAdapter } from "../lib/backend/webgpu";

describe("initBackend", () => {
  it("selects the best available backend and says why the better ones were skipped", async () => {
    const report = await initBackend({ quiet: true });
    // The native backend is the wasm one with the addon's kernels.
    assert.equal(tf.getBackend(), report.name === "native" ? "wasm" : report.name);
    assert.ok(report.line.startsWith(`tfjs backend: ${report.name} (`), report.line);
    const order: BackendName[] = ["tensorflow", "webgpu", "native", "wasm", "cpu"];
    // Every backend ranked above the chosen one is reported as skipped, with a reason.
    const better = order.slice(0, order.indexOf(report.name));
    assert.deepEqual(
      report.skipped.map((s) => s.name),
      better,
    );
    for (const s of report.skipped) {
      assert.ok(s.reason.length > 10, `${s.name}: empty reason`);
      assert.ok(report.line.includes(s.reason), `line lacks the reason for ${s.name}`);
    }
    if (report.name === "wasm" || report.name === "native") {
      assert.match(report.line, /Conv2DBackpropFilter/);
      assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
    }
    if (report.name === "native") assert.match(report.line, /^tfjs backend: native \(oneDNN \d/);
  });

  it("is idempotent and refuses to switch to another backend", async () => {
    const first = await initBackend({ quiet: true });
    assert.equal(await initBackend({ quiet: true }), first);
    assert.equal(backendReport(), first);
    const other: BackendName = first.name === "cpu" ? "wasm" : "cpu";
    await assert.rejects(initBackend({ force: other, quiet: true }), /already initialised/);
    assert.equal(tf.getBackend(), first.name === "native" ? "wasm" : first.name);
  });

  it("rejects an unknown DLC_BACKEND with the list of names", async () => {
    const saved = process.env.DLC_BACKEND;
    process.env.DLC_BACKEND = "gpu";
    try {
      await assert.rejects(
        initBackend({ quiet: true }),
        /DLC_BACKEND=gpu: not a backend; use one of/,
      );
    } finally {
      if (saved === undefined) delete process.env.DLC_BACKEND;
      else process.env.DLC_BACKEND = saved;
    }
  });

  it("a forced backend that is not available is an error, not a fallback", function () {
    this.timeout(30000);
    const installed = ["@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu"].some((m) => {
      try {
        require.resolve(m);
        return true;
      } catch {
        return false;
      }
    });
    if (installed) this.skip();
    // A fresh process: this one has already chosen its backend.
    const lib = path.join(__dirname, "..", "lib", "backend");
    const script =
      `require(${JSON.stringify(lib)}).initBackend({ quiet: true })` +
      `.then(r => { console.log("chose " + r.name); process.exit(0); })` +
      `.catch(e => { console.log(e.message); process.exit(3); })`;
    const out = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
      encoding: "utf8",
      env: { ...process.env, DLC_BACKEND: "tensorflow" },
    });
    assert.equal(out.status, 3, out.stdout + out.stderr);
    assert.match(out.stdout, /backend "tensorflow" was asked for .* but is not available: /);
    assert.match(out.stdout, /@tensorflow\/tfjs-node not installed/);
  });

  /** A fresh process with `env`: its backend line and three training steps' losses. */
  function childTraining(env: NodeJS.ProcessEnv): { status: number | null; out: string } {
    const lib = path.join(__dirname, "..", "lib");
    const script = `
      const tf = require("@tensorflow/tfjs");
      const { initBackend } = require(${JSON.stringify(path.join(lib, "backend"))});
      const { AutoEncoder } = require(${JSON.stringify(path.join(lib, "models"))});
      initBackend().then(() => {
        const model = new AutoEncoder({ embeddingDim: 2 });
        const x = tf.randomUniform([8, 1, 28, 28], 0, 1, "float32", 1);
        const opt = tf.train.adam(1e-3);
        for (let i = 0; i < 3; i++) {
          const cost = opt.minimize(() => tf.mean(tf.square(tf.sub(model.forward(x), x))), true);
          console.log("loss " + cost.dataSync()[0]);
        }
      }).catch((e) => { console.log(e.message); process.exit(3); });`;
    const out = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
      encoding: "utf8",
      env: { ...process.env, ...env },
    });
    return { status: out.status, out: out.stdout + out.stderr };
  }

  it("without the native addon: falls back to wasm in one line that says how to get it, and trains", function () {
    this.timeout(60000);
    const missing = path.join(os.tmpdir(), "no-such-dir", "dlc7_native.node");
    const { status, out } = childTraining({ DLC_BACKEND: "", DLC_NATIVE_ADDON: missing });
    assert.equal(status, 0, out);
    const line = out.split("\n").find((l) => l.startsWith("tfjs backend:")) ?? "";
    assert.match(line, /^tfjs backend: wasm \(XNNPACK/);
    assert.match(line, /skipped .*native: the addon is not built .*npm run build:native/);
    const losses = [...out.matchAll(/^loss (\S+)$/gm)].map((m) => Number(m[1]));
    assert.equal(losses.length, 3, out);
    assert.ok(losses.every(Number.isFinite) && losses[2]! < losses[0]!, `losses ${losses}`);
  });

  it("DLC_BACKEND=native without the addon is an error that says how to build it", function () {
    this.timeout(60000);
    const missing = path.join(os.tmpdir(), "no-such-dir", "dlc7_native.node");
    const { status, out } = childTraining({ DLC_BACKEND: "native", DLC_NATIVE_ADDON: missing });
    assert.equal(status, 3, out);
    assert.match(out, /backend "native" was asked for .* not available: the addon is not built/);
    assert.match(out, /npm run build:native/);
  });
});

describe("webgpu adapter selection", () => {
  const info = (fields: Partial<AdapterInfoLike>): AdapterInfoLike => ({
    vendor: "",
    architecture: "",
    device: "",
    description: "",
    ...fields,
  });
  // As Dawn reports them: Mesa through OpenGL ES here, lavapipe, SwiftShader, real GPUs.
  const llvmpipe = info({
    device: "llvmpipe-llvm-15-0-6-256-bits-",
    description: "OpenGL version OpenGL ES 3.2 Mesa 22.3.6",
  });
  const software = [
    llvmpipe,
    info({ vendor: "mesa", device: "llvmpipe (LLVM 15.0.6, 256 bits)" }),
    info({ vendor: "google", description: "SwiftShader Device (Subzero)" }),
    info({ description: "Microsoft Basic Render Driver" }),
    info({ vendor: "nvidia", isFallbackAdapter: true }),
  ];
  const gpus = [
    info({ vendor: "nvidia", architecture: "hopper", description: "NVIDIA H200" }),
    info({ vendor: "amd", architecture: "rdna-3", description: "AMD Radeon RX 7900 XTX" }),
    info({ vendor: "intel", architecture: "gen-9", description: "Intel(R) UHD Graphics 630" }),
  ];

  it("tells software renderers from GPUs, and names adapters readably", () => {
    for (const s of software) assert.ok(isSoftwareAdapter(s), JSON.stringify(s));
    for (const g of gpus) assert.ok(!isSoftwareAdapter(g), JSON.stringify(g));
    assert.equal(
      adapterName(llvmpipe),
      "OpenGL version OpenGL ES 3.2 Mesa 22.3.6, llvmpipe-llvm-15-0-6-256-bits",
    );
    assert.equal(adapterName(gpus[0] as AdapterInfoLike), "NVIDIA H200, nvidia hopper");
    assert.equal(adapterName(info({})), "unnamed adapter");
  });

  it("never takes a software adapter unless allowed, and says why for every route", async () => {
    const fake =
      (infos: (AdapterInfoLike | null)[]) =>
      async (route: AdapterRoute): Promise<Found<DawnAdapter>> => {
        const i = [NATIVE_ROUTE, GLES_ROUTE].indexOf(route);
        const got = infos[i];
        if (got === null || got === undefined) return { ok: false, reason: `no ${route.label}` };
        const adapter = {} as GPUAdapter;
        return { ok: true, value: { adapter, info: got, route, gpu: {} as DawnGpu } };
      };
    const routes = [NATIVE_ROUTE, GLES_ROUTE];
    const refused = await chooseAdapter(routes, false, fake([software[1]!, llvmpipe]));
    assert.equal(refused.ok, false);
    assert.match(
      (refused as { reason: string }).reason,
      /^no GPU adapter: only a software renderer \(llvmpipe .*DLC_BACKEND=webgpu uses it anyway; only a software renderer \(OpenGL version/,
    );
    const forced = await chooseAdapter(routes, true, fake([null, llvmpipe]));
    assert.ok(forced.ok && forced.value.software && forced.value.dawn.route === GLES_ROUTE);
    const gpu = await chooseAdapter(routes, false, fake([gpus[0]!, llvmpipe]));
    assert.ok(gpu.ok && !gpu.value.software && gpu.value.dawn.route === NATIVE_ROUTE);
    const none = await chooseAdapter(routes, true, fake([null, null]));
    assert.deepEqual(none, { ok: false, reason: "no GPU adapter: no Vulkan; no OpenGL ES" });
  });

  it("finds Vulkan driver manifests by the loader's rules, and says which are missing", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-icd-"));
    try {
      const empty = { XDG_CONFIG_DIRS: path.join(dir, "none"), XDG_DATA_DIRS: dir };
      assert.deepEqual(vulkanDriverManifests(readSettings(empty).system).found, []);
      if (process.platform === "linux") {
        assert.match(
          noAdapterReason(NATIVE_ROUTE, readSettings(empty).system),
          /no Vulkan driver manifest \(ICD\) in .*VK_DRIVER_FILES/,
        );
      }
      fs.mkdirSync(path.join(dir, "vulkan", "icd.d"), { recursive: true });
      for (const f of ["nvidia_icd.json", "lvp_icd.x86_64.json", "notes.txt"]) {
        fs.writeFileSync(path.join(dir, "vulkan", "icd.d", f), "{}");
      }
      assert.deepEqual(
        vulkanDriverManifests(readSettings(empty).system).found.map((f) => path.basename(f)),
        ["lvp_icd.x86_64.json", "nvidia_icd.json"],
      );
      if (process.platform === "linux") {
        assert.match(
          noAdapterReason(NATIVE_ROUTE, readSettings(empty).system),
          /lvp_icd.x86_64.json \(software\), nvidia_icd.json\)/,
        );
      }
      const explicit = { VK_DRIVER_FILES: path.join(dir, "vulkan", "icd.d", "nvidia_icd.json") };
      assert.deepEqual(vulkanDriverManifests(readSettings(explicit).system).found, [
        explicit.VK_DRIVER_FILES,
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds Dawn and shared libraries, or says what to install", function () {
    if (process.platform !== "linux") this.skip();
    assert.ok(sharedLibraryFound("libc.so.6"));
    assert.ok(
      !sharedLibraryFound(
        "libdlc7-absent.so.9",
        readSettings({ LD_LIBRARY_PATH: os.tmpdir() }).system,
      ),
    );
    const dawn = dawnModulePath(null);
    assert.ok(dawn.ok && fs.existsSync(dawn.value), JSON.stringify(dawn));
    assert.deepEqual(
      dawnModulePath(readSettings({ DLC_DAWN_NODE: "/nonexistent/dawn.node" }).dawnNode),
      {
        ok: false,
        reason: "DLC_DAWN_NODE=/nonexistent/dawn.node: no such file",
      },
    );
  });

  it("by default names a real GPU but does not use it (synchronous reads), and says why", function () {
    this.timeout(60000);
    const lib = path.join(__dirname, "..", "lib", "backend");
    const script =
      `const b = require(${JSON.stringify(lib)});` +
      `const w = require(${JSON.stringify(path.join(lib, "webgpu"))});` +
      `b.initBackend({ quiet: true }).then(r => {` +
      ` console.log(JSON.stringify({ name: r.name, skipped: r.skipped, adapter: w.webGpuAdapter() }));` +
      ` process.exit(0); })`;
    const out = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
      encoding: "utf8",
      env: { ...process.env, DLC_BACKEND: "" },
    });
    assert.equal(out.status, 0, out.stderr);
    const r = JSON.parse(out.stdout.trim().split("\n").pop() as string) as {
      name: BackendName;
      skipped: { name: BackendName; reason: string }[];
      adapter: { name: string; software: boolean } | null;
    };
    assert.notEqual(r.name, "webgpu");
    if (r.name !== "tensorflow") {
      const webgpu = r.skipped.find((s) => s.name === "webgpu");
      assert.ok(webgpu !== undefined);
      assert.match(
        webgpu.reason,
        /^(no GPU adapter: .{20,}|.+ found, not used by default: .+ DLC_BACKEND=webgpu trains on it)$/,
      );
      assert.equal(r.adapter, null, "no webgpu device may be left behind");
    }
  });
});

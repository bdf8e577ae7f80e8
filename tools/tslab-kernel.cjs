#!/usr/bin/env node
/**
 * The project's TypeScript kernel (kernel.json's argv): tslab with lib/kernel/launcher.ts's
 * changes, loaded from the compiled library, build/lib, which every command builds before it
 * starts a kernel (tools/setup.sh). Where it is missing or fails to load, tslab runs as
 * installed, and stderr (the terminal of `npm run lab`) says why.
 *
 *   node tools/tslab-kernel.cjs kernel --config-path <connection file>
 */
"use strict";
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const launcher = path.join(root, "build", "lib", "kernel", "launcher.js");
let startKernel;
try {
  ({ startKernel } = require(launcher));
} catch (e) {
  const why =
    e && e.code === "MODULE_NOT_FOUND" && String(e.message).includes(launcher)
      ? `${launcher} is missing: run npm run build, then restart the kernel`
      : `${launcher} failed to load (${e && e.stack})`;
  process.stderr.write(`kernel: ${why}; tslab runs without the project's changes\n`);
  startKernel = () => require(require.resolve("tslab/dist/main.js", { paths: [root] })).main();
}
startKernel(root);

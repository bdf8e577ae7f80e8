/**
 * Registers the project's one kernel, tslab's TypeScript kernel, in a Jupyter data folder
 * (tools/setup.sh uses build/jupyter/share/jupyter, so the user's own Jupyter is untouched).
 * `tslab install` would also register a JavaScript kernel ("jslab") that no notebook uses:
 * this writes the TypeScript kernel spec alone and removes a jslab left by earlier setups.
 * The kernel starts through tools/tslab-kernel.cjs (tslab with lib/kernel's changes: messages
 * sent in order, Interrupt seen by loops, the cells' own line numbers, the busy indicator), run
 * by the Node that runs this.
 *
 *   npx tsx tools/register-kernel.ts <jupyter data folder> <kernel launcher>
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError, parseCommandLine, runCli } from "./cli";

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
}

/** The tslab kernel spec starting `launcher` with `node` (tslab's own arguments). */
export function tslabKernelSpec(launcher: string, node: string = process.execPath): KernelSpec {
  return {
    argv: [node, launcher, "kernel", "--config-path", "{connection_file}"],
    display_name: "TypeScript",
    language: "typescript",
  };
}

/** Writes `<dataDir>/kernels/tslab/kernel.json` and removes `<dataDir>/kernels/jslab`. */
export function registerKernel(dataDir: string, launcher: string, node?: string): string {
  const kernels = path.join(dataDir, "kernels");
  fs.rmSync(path.join(kernels, "jslab"), { recursive: true, force: true });
  const file = path.join(kernels, "tslab", "kernel.json");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(tslabKernelSpec(launcher, node), null, 1) + "\n");
  return file;
}

if (require.main === module)
  runCli(
    "register-kernel",
    "usage: register-kernel <jupyter data folder> <kernel launcher>",
    () => {
      const args = { args: process.argv.slice(2), allowPositionals: true };
      const [dataDir, launcher, extra] = parseCommandLine(args).positionals;
      if (dataDir === undefined || launcher === undefined || extra !== undefined)
        throw new UsageError("give the Jupyter data folder and the kernel's launcher");
      console.error(
        `setup: registered the TypeScript kernel in ${registerKernel(dataDir, launcher)}`,
      );
      return 0;
    },
  );

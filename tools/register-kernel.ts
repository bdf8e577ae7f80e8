/**
 * Registers the project's one kernel, tslab's TypeScript kernel, in a Jupyter data folder
 * (tools/setup.sh uses build/jupyter/share/jupyter, so the user's own Jupyter is untouched).
 * `tslab install` would also register a JavaScript kernel ("jslab") that no notebook uses:
 * this writes the TypeScript kernel spec alone and removes a jslab left by earlier setups.
 *
 *   npx tsx tools/register-kernel.ts <jupyter data folder> <tslab binary>
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
}

/** The tslab kernel spec for `tslabBinary` (as tslab's own installer writes it). */
export function tslabKernelSpec(tslabBinary: string): KernelSpec {
  return {
    argv: [tslabBinary, "kernel", "--config-path", "{connection_file}"],
    display_name: "TypeScript",
    language: "typescript",
  };
}

/** Writes `<dataDir>/kernels/tslab/kernel.json` and removes `<dataDir>/kernels/jslab`. */
export function registerKernel(dataDir: string, tslabBinary: string): string {
  const kernels = path.join(dataDir, "kernels");
  fs.rmSync(path.join(kernels, "jslab"), { recursive: true, force: true });
  const file = path.join(kernels, "tslab", "kernel.json");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(tslabKernelSpec(tslabBinary), null, 1) + "\n");
  return file;
}

if (require.main === module) {
  const [dataDir, binary] = process.argv.slice(2);
  if (dataDir === undefined || binary === undefined) {
    console.error("usage: register-kernel <jupyter data folder> <tslab binary>");
    process.exit(2);
  }
  console.error(`setup: registered the TypeScript kernel in ${registerKernel(dataDir, binary)}`);
}

/**
 * The main job: executes every notebook under the tslab kernel, writes the executed
 * notebooks and their HTML exports to build/notebooks/, every figure to
 * build/figures/<section>/ with manifest.json, and a README.md that shows them all.
 *
 *   npx tsx tools/run-notebooks.ts [--quick] [--only 7.1,7.2] [--out DIR]
 *
 * Run it through `npm run figures`, which installs what is missing first.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFiguresReadme, pruneSection, readManifest } from "./figures-readme";

interface Options {
  quick: boolean;
  only: string[] | null;
  out: string;
}

interface NotebookResult {
  notebook: string;
  section: string;
  ok: boolean;
  seconds: number;
  failedCell: string | null;
}

const root = path.resolve(__dirname, "..");

function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, only: null, out: path.join(root, "build") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") options.quick = true;
    else if (a === "--full") options.quick = false;
    else if (a === "--only") options.only = (argv[++i] ?? "").split(",").filter((s) => s !== "");
    else if (a === "--out") options.out = path.resolve(argv[++i] ?? "");
    else if (a === "--help" || a === "-h") {
      console.log("usage: run-notebooks [--quick] [--only 7.1,7.2] [--out DIR]");
      process.exit(0);
    } else throw new Error(`run-notebooks: unknown argument ${a}; see --help`);
  }
  return options;
}

/** "7.1-transposed-convolutions.ipynb" -> "7.1" */
export function sectionOf(notebook: string): string {
  const m = /^(\d+\.\d+)-/.exec(path.basename(notebook));
  if (!m || m[1] === undefined)
    throw new Error(`notebook ${notebook}: name must start with its section, e.g. 7.1-...`);
  return m[1];
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  tag: string,
): Promise<{ code: number; lines: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const lines: string[] = [];
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() === "") continue;
        lines.push(line);
        process.stdout.write(line.startsWith(tag) ? `${line}\n` : `${tag} ${line}\n`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code) => resolve({ code: code ?? 1, lines }));
  });
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const python = process.env.DLC_PYTHON ?? "/usr/bin/python3";
  const nbDir = path.join(root, "notebooks");
  const outNotebooks = path.join(options.out, "notebooks");
  const figuresDir = path.join(options.out, "figures");
  fs.mkdirSync(outNotebooks, { recursive: true });
  fs.mkdirSync(figuresDir, { recursive: true });

  let notebooks = fs
    .readdirSync(nbDir)
    .filter((f) => f.endsWith(".ipynb"))
    .sort();
  if (options.only !== null) {
    const wanted = options.only;
    notebooks = notebooks.filter((f) => wanted.includes(sectionOf(f)));
    const missing = wanted.filter((s) => !notebooks.some((f) => sectionOf(f) === s));
    if (missing.length > 0)
      throw new Error(`run-notebooks: no notebook for section(s) ${missing.join(", ")}`);
  }
  console.log(
    `main job: ${notebooks.length} notebook(s), ${options.quick ? "quick" : "full"} mode, output in ${path.relative(root, options.out) || "."}/`,
  );

  const results: NotebookResult[] = [];
  for (const nb of notebooks) {
    const section = sectionOf(nb);
    const tag = `[${section}]`;
    pruneSection(figuresDir, section);
    const executed = path.join(outNotebooks, nb);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DLC_QUICK: options.quick ? "1" : "0",
      DLC_FIGURES_DIR: figuresDir,
      DLC_RUN_STATE: path.join(options.out, `run-state-${section}.json`),
    };
    console.log(`${tag} executing ${nb}`);
    const t0 = Date.now();
    const exec = await run(
      python,
      [
        path.join(root, "tools", "execute_notebook.py"),
        path.join(nbDir, nb),
        executed,
        "--run-state",
        env.DLC_RUN_STATE as string,
        "--cwd",
        nbDir,
        "--tag",
        tag,
      ],
      env,
      tag,
    );
    const seconds = (Date.now() - t0) / 1000;
    const failLine = exec.lines.find((l) => l.includes("FAILED in cell"));
    const failedCell = failLine
      ? (/cell (\S+)/.exec(failLine)?.[1] ?? "?")
      : exec.code === 0
        ? null
        : "?";
    if (fs.existsSync(executed)) {
      const html = await run(
        python,
        ["-m", "nbconvert", "--to", "html", "--log-level", "WARN", executed],
        env,
        tag,
      );
      if (html.code !== 0)
        console.log(
          `${tag} HTML export failed (the executed notebook is still in ${path.relative(root, executed)})`,
        );
    }
    results.push({ notebook: nb, section, ok: exec.code === 0, seconds, failedCell });
    console.log(
      `${tag} ${exec.code === 0 ? "done" : `FAILED (cell ${failedCell})`} in ${seconds.toFixed(1)} s`,
    );
  }

  fs.writeFileSync(
    path.join(options.out, "run-summary.json"),
    JSON.stringify(results, null, 2) + "\n",
  );
  const manifest = readManifest(figuresDir);
  writeFiguresReadme(figuresDir, manifest, { quick: options.quick });

  console.log("\nsummary");
  for (const r of results) {
    const figs = manifest.figures.filter((f) => f.section === r.section);
    const backends = [...new Set(figs.map((f) => f.backend))].join(", ") || "-";
    console.log(
      `  ${r.ok ? "ok    " : "FAILED"} ${r.notebook.padEnd(40)} ${r.seconds.toFixed(1).padStart(7)} s  ${String(figs.length).padStart(3)} figures  backend ${backends}` +
        (r.ok
          ? ""
          : `  (failed in cell ${r.failedCell}; see ${path.relative(root, path.join(outNotebooks, r.notebook))})`),
    );
  }
  console.log(
    `  figures: ${manifest.figures.length} (and ${manifest.tables.length} tables) in ${path.relative(root, figuresDir)}/ (README.md lists them)`,
  );
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    console.log(
      `main job: ${failed.length} notebook(s) failed: ${failed.map((r) => `${r.notebook} cell ${r.failedCell}`).join("; ")}`,
    );
    process.exit(1);
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}

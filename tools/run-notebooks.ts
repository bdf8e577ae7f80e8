/**
 * The main job: executes every notebook under the tslab kernel, writes the executed
 * notebooks and their HTML exports to <out>/notebooks/, every figure to
 * <out>/figures/<section>/ with manifest.json and a README.md that shows them all, and
 * <out>/run-summary.json. Run it through `npm run figures`, which installs what is missing.
 *
 * A notebook writes its figures into a staging folder; they replace the previous ones only
 * when it runs to its end. A failed run keeps the previous figures and executed notebook,
 * and leaves its own as <name>.failed.ipynb / .html. The summary and README are written
 * at the end of every run, also after a failure or Ctrl-C, which stops the kernels.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { readSettings, settingsErrors } from "../lib/settings";
import { readManifest, type Manifest } from "../lib/viz/manifest";
import {
  describeHolder,
  holderAlive,
  readLockHolder,
  releaseLock,
  removeStaleLock,
  tryLock,
} from "../lib/lock-file";
import { writeFileAtomic } from "../lib/atomic-write";
import { UsageError, numberOption, parseCommandLine, runCli } from "./cli";
import { absolutePathVariables, startDirectory } from "./env-paths";
import { publishSection } from "./figures-publish";
import { writeFiguresReadme } from "./figures-readme";
import { NotebookRun, onLines, python, root } from "./notebook-runner";
import {
  countClaims,
  describeClaims,
  describeResult,
  sumClaims,
  writeRunSummary,
  type NotebookResult,
  type NotebookStatus,
  type RunSummary,
} from "./run-summary";

/** A path as the user would type it from here: relative below the current folder, else absolute. */
function shown(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === "" ? "." : rel.startsWith("..") || path.isAbsolute(rel) ? p : rel;
}

export const USAGE =
  "usage: npm run figures -- [--quick | --full] [--only 7.1,7.2] [--out DIR] " +
  "[--cell-timeout SECONDS] [--notebooks DIR]";

const HELP = `${USAGE}
  --quick             small data and few epochs (as the tests run them; the default when DLC_QUICK=1);
                      --full (default otherwise) the lecture's
  --only 7.1,7.2      run only these sections' notebooks
  --out DIR           output folder (default build/): notebooks/, figures/, run-summary.json
  --cell-timeout S    stop a notebook whose cell runs longer than S seconds (default: no limit)
  --notebooks DIR     folder of notebooks to run (default notebooks/)
Relative paths, here and in MNIST_DIR, DLC_CHECKPOINT_DIR, ..., are read from the folder you started in.`;

export interface Options {
  quick: boolean;
  /** Sections to run, or null for every notebook. */
  only: string[] | null;
  /** Absolute output folder. */
  out: string;
  /** Absolute folder of the notebooks to run. */
  notebooksDir: string;
  /** Seconds a cell may run, or null for no limit. */
  cellTimeout: number | null;
}

/**
 * Parses the main job's arguments strictly (unknown options, missing values and stray
 * arguments are errors). Relative folders are read from `startDir`. "help" for --help.
 * `quickByDefault` (DLC_QUICK=1) applies when neither --quick nor --full is given.
 */
export function parseOptions(
  argv: string[],
  startDir: string,
  quickByDefault = false,
): Options | "help" {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      quick: { type: "boolean" },
      full: { type: "boolean" },
      only: { type: "string" },
      out: { type: "string" },
      "cell-timeout": { type: "string" },
      notebooks: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) return "help";
  if (values.quick === true && values.full === true) {
    throw new UsageError("--quick and --full exclude each other");
  }
  const sections = values.only?.split(",").map((s) => s.trim());
  if (sections?.some((s) => s === ""))
    throw new UsageError(`--only ${values.only}: an empty section name`);
  const cellTimeout = numberOption("cell-timeout", values["cell-timeout"], "seconds", 1);
  const out = path.resolve(startDir, values.out ?? path.join(root, "build"));
  const notebooksDir = path.resolve(startDir, values.notebooks ?? path.join(root, "notebooks"));
  for (const source of new Set([notebooksDir, path.join(root, "notebooks")])) {
    const inside = (dir: string): boolean => dir === source || dir.startsWith(source + path.sep);
    if (inside(out) || inside(path.join(out, "notebooks"))) {
      throw new UsageError(
        `--out ${out}: the run would write into the notebooks folder ${source}; ` +
          "choose another output folder (default build/)",
      );
    }
  }
  return {
    quick: values.quick === true || (values.full !== true && quickByDefault),
    only: sections === undefined ? null : [...new Set(sections)],
    out,
    notebooksDir,
    cellTimeout: cellTimeout ?? null,
  };
}

/** "7.1-transposed-convolutions.ipynb" -> "7.1" */
export function sectionOf(notebook: string): string {
  const m = /^(\d+\.\d+)-/.exec(path.basename(notebook));
  if (!m || m[1] === undefined)
    throw new Error(`notebook ${notebook}: name must start with its section, e.g. 7.1-...`);
  return m[1];
}

/** The notebooks to run, in order; an unknown section in `only` is a UsageError. */
export function selectNotebooks(notebooksDir: string, only: string[] | null): string[] {
  let names: string[];
  try {
    names = fs
      .readdirSync(notebooksDir)
      .filter((f) => f.endsWith(".ipynb"))
      .sort();
  } catch (e) {
    throw new UsageError(`cannot list the notebooks in ${notebooksDir} (${(e as Error).message})`);
  }
  if (only === null) return names;
  const known = names.map(sectionOf);
  const unknown = only.filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    throw new UsageError(
      `--only: no notebook for section ${unknown.join(", ")} (there are: ${[...new Set(known)].join(", ")})`,
    );
  }
  return names.filter((f) => only.includes(sectionOf(f)));
}

/** MathJax 2.7 from a CDN: the HTML exports' maths when no copy can go beside them. */
export const MATHJAX_CDN =
  "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/MathJax.js?config=TeX-AMS_CHTML-full,Safe";
/** Debian's MathJax 2.7 (libjs-mathjax, which jupyter-nbconvert depends on). */
export const MATHJAX_DEBIAN = "/usr/share/javascript/mathjax";
/** What MathJax loads for TeX rendered as CommonHTML: about 1.6 MB of its 54. */
const MATHJAX_PARTS = [
  "MathJax.js",
  "config/TeX-AMS_CHTML-full.js",
  "jax/input/TeX",
  "jax/output/CommonHTML",
  "jax/element",
  "extensions",
  "fonts/HTML-CSS/TeX/woff",
  "localization/en",
];

/**
 * Copies MathJax's files for TeX into `<notebooks>/mathjax/` (once), so that the HTML exports
 * beside it show their maths offline; returns the URL the exports use: that folder, or the
 * CDN when there is no MathJax to copy (conda installs without Debian's package).
 */
export function offlineMathJax(notebooksDir: string, source: string = MATHJAX_DEBIAN): string {
  if (!MATHJAX_PARTS.every((p) => fs.existsSync(path.join(source, p)))) return MATHJAX_CDN;
  const target = path.join(notebooksDir, "mathjax");
  if (!fs.existsSync(path.join(target, MATHJAX_PARTS[0] as string))) {
    const partial = `${target}.${process.pid}.tmp`;
    fs.rmSync(partial, { recursive: true, force: true });
    for (const p of MATHJAX_PARTS) {
      fs.cpSync(path.join(source, p), path.join(partial, p), {
        recursive: true,
        dereference: true,
      });
    }
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(partial, target);
  }
  return "mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe";
}

/**
 * nbconvert's HTML export with MathJax from `mathjax` (offlineMathJax) and scripts from public
 * CDNs, instead of Debian's file:///usr/share/javascript paths (nbconvert's defaults there),
 * which exist only on machines like this one.
 */
export function nbconvertArgs(notebook: string, mathjax: string = MATHJAX_CDN): string[] {
  return [
    "-m",
    "nbconvert",
    "--to",
    "html",
    "--log-level",
    "WARN",
    `--HTMLExporter.mathjax_url=${mathjax}`,
    "--HTMLExporter.require_js_url=https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js",
    "--HTMLExporter.jquery_url=https://cdnjs.cloudflare.com/ajax/libs/jquery/2.0.3/jquery.min.js",
    notebook,
  ];
}

/** Shown at the top of an export when MathJax did not load, as offline with the CDN. */
export const MATHS_NOTICE =
  '<div id="dlc7-maths-notice" style="background:#fff3cd;border:1px solid #e0c36c;' +
  'padding:6px 12px;margin:8px;font-family:sans-serif">The formulas on this page are drawn by ' +
  "MathJax, which did not load: they show as LaTeX source ($…$). Open the page with a network " +
  "connection, or keep the <code>mathjax/</code> folder beside it.</div>" +
  '<script>window.addEventListener("load", function () { if (window.MathJax) ' +
  'document.getElementById("dlc7-maths-notice").remove(); });</script>';

/** Puts MATHS_NOTICE at the top of an exported page's body. */
export function addMathsNotice(htmlFile: string): void {
  const html = fs.readFileSync(htmlFile, "utf8");
  if (html.includes('id="dlc7-maths-notice"')) return;
  const body = /<body[^>]*>/.exec(html);
  if (body === null) throw new Error(`${htmlFile}: no <body> to put the maths notice in`);
  const at = body.index + body[0].length;
  writeFileAtomic(htmlFile, html.slice(0, at) + MATHS_NOTICE + html.slice(at));
}

/** How a notebook's run ended, for the summary. */
interface Outcome {
  status: Exclude<NotebookStatus, "not run">;
  cell: number | null;
  message: string | null;
}

/** One main-job run: the notebook running, the signal that stops it, its results. */
class MainJob {
  private run: NotebookRun | null = null;
  stoppedBy: NodeJS.Signals | null = null;
  /** Why the job stops, for the summary: "SIGINT", or "the end of npm run figures (pid 12)". */
  stopReason: string | null = null;
  private stoppedAt = 0;
  readonly results: NotebookResult[] = [];
  readonly startedAt = new Date();

  constructor(readonly options: Options) {}

  get figuresDir(): string {
    return path.join(this.options.out, "figures");
  }

  /** First signal: stop the running notebook (its executor stops the kernel). Second: kill. */
  stop(signal: NodeJS.Signals, reason: string = signal): void {
    // Ctrl-C reaches this process twice (from the terminal, and relayed by tsx): the same
    // press, not an impatient second one.
    if (this.stoppedBy !== null && Date.now() - this.stoppedAt < 2000) return;
    if (this.stoppedBy !== null) {
      console.log(`main job: ${signal} again: killing the running notebook now`);
      this.run?.kill();
      return;
    }
    this.stoppedBy = signal;
    this.stopReason = reason;
    this.stoppedAt = Date.now();
    console.log(`main job: ${reason}: stopping the running notebook and its kernel`);
    this.run?.stop(15_000);
  }

  /** Executes the notebook; prints its progress, and on failure the cell, its source and why. */
  private async execute(
    file: string,
    output: string,
    env: NodeJS.ProcessEnv,
    tag: string,
  ): Promise<Outcome> {
    let code: number[] = [];
    this.run = new NotebookRun({
      notebook: { file },
      cwd: this.options.notebooksDir,
      output,
      cellTimeout: this.options.cellTimeout,
      keepGoing: false,
      env,
      hostKernel: true,
      onEvent: (e) => {
        if (e.event === "kernel") {
          code = e.codeCells;
          console.log(`${tag} kernel pid ${e.pid}`);
        } else if (e.event === "stderr") console.log(`${tag} kernel stderr: ${e.text}`);
        else if (e.event === "cell") {
          const k = `${code.indexOf(e.cell) + 1}/${code.length}`;
          console.log(`${tag} cell ${e.cell} (${k} code) ${e.seconds.toFixed(1)}s`);
        }
      },
      onLog: (line) => console.log(`${tag} ${line}`),
    });
    const { end, cells, kernelStderr } = await this.run.done;
    this.run = null;
    if (end.status === "completed") return { status: "ok", cell: null, message: null };
    const where = end.cell === null ? "kernel start" : `cell ${end.cell}`;
    // Stopped by the job, the run was interrupted, whatever the executor saw.
    const r: Outcome =
      this.stopReason === null
        ? { status: end.status, cell: end.cell, message: end.message }
        : {
            status: "interrupted",
            cell: end.cell,
            message: `interrupted by ${this.stopReason} during ${where}; the kernel was stopped`,
          };
    const label = r.status === "interrupted" ? "INTERRUPTED" : "FAILED";
    const lines = [`${label} in ${where} of ${path.basename(file)}: ${r.message}`];
    if (end.source !== null)
      lines.push(`----- source of ${where} -----`, ...end.source.split("\n").map((l) => `| ${l}`));
    const error = cells.get(end.cell ?? -1)?.error.trimEnd() ?? "";
    if (r.status === "failed" && error !== "")
      lines.push("----- error -----", ...error.split("\n"));
    if (r.status === "kernel died" && kernelStderr.length > 0)
      lines.push("----- last lines the kernel wrote to stderr -----", ...kernelStderr.slice(-20));
    for (const line of lines) console.log(`${tag} ${line}`);
    return r;
  }

  /** nbconvert's HTML export of an executed notebook; false if it failed. */
  private exportHtml(notebook: string, tag: string): Promise<boolean> {
    const mathjax = offlineMathJax(path.dirname(notebook));
    const child = spawn(python(), nbconvertArgs(notebook, mathjax), { stdio: "pipe" });
    for (const stream of [child.stdout, child.stderr])
      onLines(stream, (line) => line.trim() !== "" && console.log(`${tag} ${line}`));
    return new Promise((resolve) => {
      child.on("error", () => resolve(false));
      child.on("close", (code) => resolve(code === 0));
    });
  }

  async runNotebook(nb: string): Promise<void> {
    const { out, notebooksDir, quick } = this.options;
    const section = sectionOf(nb);
    const tag = `[${section}]`;
    const stem = nb.replace(/\.ipynb$/, "");
    const outNotebooks = path.join(out, "notebooks");
    const runDir = path.join(out, ".run", section);
    const staging = path.join(runDir, "figures");
    const executed = path.join(runDir, nb);
    fs.rmSync(runDir, { recursive: true, force: true });
    fs.mkdirSync(staging, { recursive: true });
    fs.mkdirSync(outNotebooks, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DLC_QUICK: quick ? "1" : "0",
      DLC_FIGURES_DIR: staging,
      DLC_RUN_STATE: path.join(runDir, "run-state.json"),
    };
    console.log(`${tag} executing ${nb}`);
    const t0 = Date.now();
    let result = await this.execute(path.join(notebooksDir, nb), executed, env, tag);
    const seconds = (Date.now() - t0) / 1000;
    const claims = countClaims(readManifest(staging).claims ?? []);

    if (result.status === "ok") {
      try {
        publishSection(this.figuresDir, staging, section, {
          notebook: nb,
          finishedAt: new Date().toISOString(),
          quick,
        });
      } catch (e) {
        result = {
          status: "failed",
          cell: null,
          message: `ran to its end, but its figures could not be published: ${(e as Error).message}`,
        };
      }
    }
    const ok = result.status === "ok";
    let executedAs: string | null = null;
    if (ok) {
      for (const old of fs.readdirSync(outNotebooks)) {
        if (old.startsWith(`${stem}.failed.`) || old.startsWith(`${stem}.interrupted.`)) {
          fs.rmSync(path.join(outNotebooks, old), { force: true });
        }
      }
      executedAs = nb;
    } else if (fs.existsSync(executed)) {
      executedAs = `${stem}.${result.status === "interrupted" ? "interrupted" : "failed"}.ipynb`;
    }
    if (executedAs !== null && fs.existsSync(executed)) {
      const target = path.join(outNotebooks, executedAs);
      fs.renameSync(executed, target);
      if (result.status !== "interrupted" && this.stoppedBy === null) {
        if (!(await this.exportHtml(target, tag))) {
          console.log(`${tag} HTML export failed (the executed notebook is ${shown(target)})`);
        } else addMathsNotice(target.replace(/\.ipynb$/, ".html"));
      }
    }
    const sectionHasFigures = readManifest(this.figuresDir).figures.some(
      (f) => f.section === section,
    );
    this.results.push({
      notebook: nb,
      section,
      status: result.status,
      ok,
      seconds,
      failedCell: ok ? null : result.cell,
      message: ok ? null : result.message,
      figures: ok ? "this run" : sectionHasFigures ? "an earlier run" : "none",
      executed: executedAs === null ? null : path.join("notebooks", executedAs),
      claims,
    });
    fs.rmSync(runDir, { recursive: true, force: true });
    const r = this.results[this.results.length - 1] as NotebookResult;
    const kept =
      r.figures === "an earlier run"
        ? `the figures of ${section} from an earlier run are kept`
        : "";
    console.log(
      ok
        ? `${tag} done in ${seconds.toFixed(1)} s`
        : `${tag} ${r.status.toUpperCase()} after ${seconds.toFixed(1)} s: ${describeResult(r)}` +
            (kept ? `; ${kept}` : ""),
    );
  }

  /** Summary and README, written whatever happened. */
  finish(notebooks: string[]): RunSummary {
    for (const nb of notebooks.slice(this.results.length)) {
      const section = sectionOf(nb);
      this.results.push({
        notebook: nb,
        section,
        status: "not run",
        ok: false,
        seconds: null,
        failedCell: null,
        message: null,
        figures: "none",
        executed: null,
        claims: countClaims([]),
      });
    }
    const summary: RunSummary = {
      version: 3,
      status:
        this.stoppedBy !== null ? "interrupted" : this.results.every((r) => r.ok) ? "ok" : "failed",
      command: `npm run figures${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
      quick: this.options.quick,
      startedAt: this.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      notebooks: this.results,
    };
    try {
      const manifest = readManifest(this.figuresDir);
      for (const r of summary.notebooks) {
        if (r.status === "not run" && manifest.figures.some((f) => f.section === r.section)) {
          r.figures = "an earlier run";
        }
      }
      writeFiguresReadme(this.figuresDir, manifest, summary);
    } catch (e) {
      console.error(`main job: cannot write the figures README: ${(e as Error).message}`);
    }
    try {
      writeRunSummary(this.options.out, summary);
    } catch (e) {
      console.error(`main job: cannot write the run summary: ${(e as Error).message}`);
    }
    return summary;
  }
}

function printSummary(summary: RunSummary, out: string): void {
  let manifest: Manifest;
  try {
    manifest = readManifest(path.join(out, "figures"));
  } catch (e) {
    console.error(`main job: ${(e as Error).message}`);
    manifest = { version: 1, figures: [], tables: [] };
  }
  console.log("\nsummary");
  for (const r of summary.notebooks) {
    const figs = manifest.figures.filter((f) => f.section === r.section);
    const backends = [...new Set(figs.map((f) => f.backend))].join(", ") || "-";
    const time = r.seconds === null ? "" : `${r.seconds.toFixed(1).padStart(7)} s`;
    const claims = r.status === "not run" ? "" : `  claims: ${describeClaims(r.claims)}`;
    console.log(
      `  ${r.ok ? "ok     " : r.status === "not run" ? "-      " : r.status === "interrupted" ? "STOPPED" : "FAILED "} ${r.notebook.padEnd(40)} ${time.padStart(9)}  ${String(figs.length).padStart(3)} figures (${r.figures})  backend ${backends}${claims}` +
        (r.ok ? "" : `\n          ${describeResult(r)}${r.executed ? `; see ${r.executed}` : ""}`),
    );
  }
  const total = sumClaims(summary.notebooks.map((r) => r.claims));
  console.log(
    `  figures: ${manifest.figures.length} (and ${manifest.tables.length} tables) in ${shown(path.join(out, "figures"))}/ (README.md lists them)`,
  );
  console.log(`  the lecture's claims checked by this run: ${describeClaims(total)}`);
}

/** A process the job belongs to, with its start time (a pid can be reused). */
export interface JobProcess {
  pid: number;
  start: string;
  what: string;
}

/** Parent pid and start time from /proc/<pid>/stat, or null when the process is gone. */
function procStat(pid: number): { ppid: number; start: string } | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // After the command name in parentheses (which may hold spaces): state, ppid, ... field 22.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(fields[1]), start: fields[19] ?? "" };
}

function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/**
 * The processes above this one that the job belongs to: the parent, and the ones up to the
 * `npm` that started it (npm run figures, npm test), if there is one a few levels up. Not
 * above npm: a job started with nohup must outlive the shell it was typed in.
 */
export function jobAncestors(pid: number = process.pid): JobProcess[] {
  const chain: JobProcess[] = [];
  let at = procStat(pid)?.ppid ?? 0;
  for (let depth = 0; depth < 6 && at > 1; depth++) {
    const stat = procStat(at);
    if (stat === null) break;
    const what = commandOf(at);
    chain.push({ pid: at, start: stat.start, what });
    if (/^npm( |$)/.test(what)) return chain;
    at = stat.ppid;
  }
  return chain.slice(0, 1);
}

/**
 * Calls `onEnd` (once) when one of `watched` has ended: a kill -9 of npm or of the tsx
 * process above us sends no signal here, and the job must not run on unseen for hours.
 */
function watchAncestors(watched: JobProcess[], onEnd: (gone: JobProcess) => void): () => void {
  const timer = setInterval(() => {
    const gone = watched.find((w) => procStat(w.pid)?.start !== w.start);
    if (gone === undefined) return;
    clearInterval(timer);
    onEnd(gone);
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Takes `<out>/.main-job.lock`, or says which run holds it (null). */
function lockOutput(lockFile: string, out: string): boolean {
  const what = `npm run figures -- ${process.argv.slice(2).join(" ")}`.trim();
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryLock(lockFile, what)) return true;
    const holder = readLockHolder(lockFile);
    if (holder === null) continue;
    if (!holderAlive(holder)) {
      // Another run starting now may take it over too: only one of them removes it.
      if (removeStaleLock(holder)) {
        console.log(
          `main job: taking over ${lockFile}, left by ${describeHolder(holder)}, which has ended`,
        );
      }
      continue;
    }
    console.error(
      `figures: another main job is writing to ${out}: ${describeHolder(holder)}, ` +
        `started ${(holder.ageMs / 1000).toFixed(0)} s ago. Wait for it to finish (or stop it), ` +
        `or pass --out with another folder. If no such run is going on, delete ${lockFile}.`,
    );
    return false;
  }
  console.error(`figures: ${lockFile} kept changing (another run starting?); try again.`);
  return false;
}

async function main(): Promise<number> {
  const start = startDirectory();
  // Every setting before any work: one line each, as for a bad flag (no kernel starts).
  const problems = settingsErrors(process.env);
  if (problems.length > 0) {
    for (const p of problems) console.error(`figures: ${p}`);
    return 2;
  }
  const options = parseOptions(process.argv.slice(2), start, readSettings().quick);
  if (options === "help") {
    console.log(HELP);
    return 0;
  }
  const notebooks = selectNotebooks(options.notebooksDir, options.only);
  // Kernels run in the notebooks folder: relative paths would be read from there.
  Object.assign(process.env, absolutePathVariables(process.env, start));
  fs.mkdirSync(options.out, { recursive: true });
  const lockFile = path.join(options.out, ".main-job.lock");
  if (!lockOutput(lockFile, options.out)) return 1;
  const job = new MainJob(options);
  const onSignal = (signal: NodeJS.Signals): void => job.stop(signal);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const unwatch = watchAncestors(jobAncestors(), (gone) =>
    job.stop("SIGTERM", `the end of ${gone.what || "its parent"} (pid ${gone.pid})`),
  );
  try {
    fs.rmSync(path.join(options.out, ".run"), { recursive: true, force: true });
    console.log(
      `main job: ${notebooks.length} notebook(s), ${options.quick ? "quick" : "full"} mode, ` +
        `output in ${shown(options.out)}/, ` +
        (options.cellTimeout === null
          ? "no cell time limit"
          : `cells stopped after ${options.cellTimeout} s`),
    );
    for (const nb of notebooks) {
      if (job.stoppedBy !== null) break;
      await job.runNotebook(nb);
    }
  } finally {
    unwatch();
    const summary = job.finish(notebooks);
    fs.rmSync(path.join(options.out, ".run"), { recursive: true, force: true });
    releaseLock(lockFile);
    printSummary(summary, options.out);
  }
  const failed = job.results.filter((r) => !r.ok && r.status !== "not run");
  if (job.stoppedBy !== null) {
    console.log(`main job: interrupted by ${job.stopReason}; the summary says what finished`);
    return 128 + (job.stoppedBy === "SIGINT" ? 2 : 15);
  }
  if (failed.length > 0) {
    console.log(
      `main job: ${failed.length} notebook(s) failed: ${failed.map((r) => `${r.notebook}: ${describeResult(r)}`).join("; ")}`,
    );
    return 1;
  }
  return 0;
}

if (require.main === module) runCli("figures", USAGE, main);

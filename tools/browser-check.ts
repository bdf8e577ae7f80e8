/**
 * A student's session in a real browser: `npm run lab` (classic Notebook) in quick mode,
 * Run All on a notebook (7.4 by default), Interrupt while an analysis cell runs, then a
 * scratch cell and a save. Checks that the analysis cell stops within a few seconds with one
 * line ("Interrupted: In [n] stopped ..."), that Run All stops there (no later cell runs),
 * that the kernel indicator read busy all through Run All, and that the save went into the
 * working copy, not into notebooks/. Screenshots and a report go to build/browser-check/.
 *
 *   npx tsx tools/browser-check.ts [--notebook 7.4] [--cell N] [--delay SECONDS] [--out DIR]
 *
 * --cell: the index (among all cells, 0 first) of the cell to interrupt; by default the first
 * analysis cell (after a training) still running --delay seconds (default 1) after it began.
 *
 * Needs Debian's chromium (apt-get install -y chromium; `npx playwright install` cannot work
 * here) and playwright-core (a devDependency). Not part of npm test: it trains 7.4's models
 * in quick mode when their checkpoints are missing (minutes), and takes a minute or more with
 * them. DLC_BACKEND and the other settings pass through to the kernel.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { UsageError, parseCommandLine, runCli } from "./cli";

const root = path.resolve(__dirname, "..");
const USAGE =
  "usage: npx tsx tools/browser-check.ts [--notebook 7.4] [--cell N] [--delay S] [--out DIR]";
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** What an analysis cell calls: batches over the test set, metrics, latent statistics. */
const ANALYSIS =
  /reconstructionReport|encodeAll|klPerDimension|latentStatistics|mapBatches|frechet|PCA\.fit/;
/** What a cell that trains calls (not an analysis cell, even when it also measures). */
const TRAINING = /trainOrLoad|trainVae|lectureAutoencoder|measuringClassifier\(/;

/** What the functions run in the page (page.evaluate) use of it: the project has no DOM types. */
interface PageElement {
  className: string;
  scrollTop: number;
  scrollHeight: number;
  textContent: string | null;
  classList: { contains(name: string): boolean };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  scrollIntoView(options: { block: string }): void;
}
interface JupyterNotebook {
  insert_cell_at_bottom(type: string): { set_text(text: string): void };
  select(index: number): void;
  ncells(): number;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
};
declare const window: {
  scrollTo(x: number, y: number): void;
  Jupyter: { notebook: JupyterNotebook };
};

interface Options {
  notebook: string;
  out: string;
  /** Seconds between the analysis cell's start and Interrupt. */
  delay: number;
  /** The cell to interrupt (index among all cells), or null: the first analysis cell. */
  cell: number | null;
}

interface Sample {
  /** Seconds since Run All. */
  t: number;
  indicator: string;
  /** Index of the cell running now (the first marked running), or -1. */
  running: number;
}

interface CellState {
  index: number;
  prompt: string;
  running: boolean;
  outputs: string;
}

interface Report {
  notebook: string;
  backend: string | null;
  analysisCell: number;
  analysisSource: string;
  interruptedAfterSeconds: number;
  stoppedWithinSeconds: number | null;
  message: string | null;
  laterCellsRun: number[];
  idleWhileRunning: Sample[];
  samples: number;
  kernelDied: boolean;
  lectureNotebookUnchanged: boolean;
  /** notebooks/ holds no output and no scratch cell of the session. */
  lectureNotebookClean: boolean;
  savedToWorkingCopy: boolean;
  gitStatusNotebooks: string;
  screenshots: string[];
  problems: string[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      notebook: { type: "string", default: "7.4" },
      out: { type: "string", default: path.join(root, "build", "browser-check") },
      delay: { type: "string", default: "1" },
      cell: { type: "string" },
    },
  });
  const delay = Number(values.delay);
  if (!(delay >= 0)) throw new UsageError(`--delay ${values.delay}: give seconds, e.g. --delay 1`);
  const cell = values.cell === undefined ? null : Number(values.cell);
  if (cell !== null && !(Number.isInteger(cell) && cell >= 0)) {
    throw new UsageError(
      `--cell ${values.cell}: give the index of a code cell (0 is the first cell)`,
    );
  }
  return {
    notebook: values.notebook as string,
    out: path.resolve(values.out as string),
    delay,
    cell,
  };
}

const sha256 = (file: string): string =>
  createHash("sha256").update(fs.readFileSync(file)).digest("hex");

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** Waits until `check` returns a value other than undefined, or throws `what` after `seconds`. */
async function until<T>(
  what: string,
  seconds: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`browser check: timed out after ${seconds} s ${what}`);
    await sleep(250);
  }
}

/** npm run lab on its own working folder, in quick mode; its output goes to `log`. */
function startLab(labDir: string, port: number, token: string, log: fs.WriteStream): ChildProcess {
  const lab = spawn(
    "bash",
    [
      path.join(root, "tools", "lab.sh"),
      "--lab-dir",
      labDir,
      "--no-browser",
      `--port=${port}`,
      "--ip=127.0.0.1",
      `--NotebookApp.token=${token}`,
    ],
    { cwd: root, env: { ...process.env, DLC_QUICK: "1" }, detached: true },
  );
  lab.stdout?.pipe(log);
  lab.stderr?.pipe(log);
  return lab;
}

/** The state of every code cell, in order. */
async function cellStates(page: Page): Promise<CellState[]> {
  return page.evaluate(() => {
    const cells = Array.from(document.querySelectorAll("#notebook-container .cell"));
    return cells
      .map((cell, index) => ({ cell, index }))
      .filter(({ cell }) => cell.classList.contains("code_cell"))
      .map(({ cell, index }) => ({
        index,
        // "In&nbsp;[7]:" in the page.
        prompt: (cell.querySelector(".input_prompt")?.textContent ?? "")
          .replace(/\s+/g, " ")
          .trim(),
        running: cell.classList.contains("running"),
        outputs: (cell.querySelector(".output_area")
          ? Array.from(cell.querySelectorAll(".output_subarea")).map((o) => o.textContent ?? "")
          : []
        ).join("\n"),
      }));
  });
}

async function indicator(page: Page): Promise<string> {
  return page.evaluate(() => document.querySelector("#kernel_indicator_icon")?.className ?? "");
}

async function shot(page: Page, out: string, name: string, shots: string[]): Promise<void> {
  const file = path.join(out, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  shots.push(file);
}

/** Scrolls cell `index` (of all cells) into view, with some of what is above it. */
async function showCell(page: Page, index: number): Promise<void> {
  await page.evaluate((i) => {
    const cell = document.querySelectorAll("#notebook-container .cell")[i];
    cell?.scrollIntoView({ block: "center" });
  }, index);
}

async function run(options: Options): Promise<Report> {
  const lecture = fs
    .readdirSync(path.join(root, "notebooks"))
    .find((n) => n.startsWith(`${options.notebook}-`) && n.endsWith(".ipynb"));
  if (lecture === undefined) {
    throw new Error(`browser check: no notebook ${options.notebook}-*.ipynb in notebooks/`);
  }
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`browser check: ${CHROMIUM} is missing: apt-get install -y chromium`);
  }
  const source = JSON.parse(fs.readFileSync(path.join(root, "notebooks", lecture), "utf8")) as {
    cells: { cell_type: string; source: string | string[] }[];
  };
  const text = (s: string | string[]): string => (Array.isArray(s) ? s.join("") : s);
  const cells = source.cells.map((c, i) => ({
    i,
    code: c.cell_type === "code",
    src: text(c.source),
  }));
  const firstTraining = cells.find((c) => c.code && TRAINING.test(c.src))?.i ?? -1;
  const analyses = cells.filter(
    (c) => c.code && c.i > firstTraining && !TRAINING.test(c.src) && ANALYSIS.test(c.src),
  );
  // Candidates: the cell asked for, or every analysis cell; the first one still running after
  // --delay seconds is interrupted (a short one ends before).
  const candidates =
    options.cell !== null ? cells.filter((c) => c.code && c.i === options.cell) : analyses;
  if (candidates.length === 0) {
    throw new Error(
      options.cell !== null
        ? `browser check: cell ${options.cell} of ${lecture} is not a code cell`
        : `browser check: no analysis cell (${ANALYSIS}) after a training in ${lecture}`,
    );
  }
  const candidateIndices = new Set(candidates.map((c) => c.i));

  fs.rmSync(options.out, { recursive: true, force: true });
  fs.mkdirSync(options.out, { recursive: true });
  const labDir = path.join(options.out, "lab");
  const log = fs.createWriteStream(path.join(options.out, "lab.log"));
  const lectureFile = path.join(root, "notebooks", lecture);
  const lectureBefore = sha256(lectureFile);
  const port = await freePort();
  const token = randomBytes(16).toString("hex");
  const lab = startLab(labDir, port, token, log);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-chromium-"));
  let context: BrowserContext | undefined;
  const shots: string[] = [];
  const problems: string[] = [];
  try {
    await until("waiting for Jupyter to answer", 180, async () => {
      if (lab.exitCode !== null) {
        throw new Error(`browser check: npm run lab ended (exit ${lab.exitCode}); see lab.log`);
      }
      const r = await fetch(`http://127.0.0.1:${port}/api/status?token=${token}`).catch(() => null);
      return r?.ok === true ? true : undefined;
    });
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`http://127.0.0.1:${port}/notebooks/${lecture}?token=${token}`);
    await until("waiting for the kernel to start", 120, async () =>
      (await indicator(page)).includes("kernel_idle_icon") ? true : undefined,
    );
    await shot(page, options.out, "1-opened", shots);

    // Run All, from the menu.
    await page.click("#celllink");
    await page.click("#run_all_cells > a");
    const t0 = Date.now();
    const seconds = (): number => (Date.now() - t0) / 1000;
    const samples: Sample[] = [];
    const sample = async (): Promise<CellState[]> => {
      const states = await cellStates(page);
      const running = states.find((c) => c.running)?.index ?? -1;
      samples.push({ t: seconds(), indicator: await indicator(page), running });
      return states;
    };
    // Until an analysis cell has run for --delay seconds (the cells before it all done).
    const last = Math.max(...candidateIndices);
    let runningSince: { index: number; t: number } | null = null;
    const targetIndex = await until(
      "waiting for a long analysis cell (see lab.log)",
      1800,
      async () => {
        const states = await sample();
        if ((await indicator(page)).includes("dead")) {
          throw new Error("browser check: the kernel died before the analysis cell");
        }
        const running = states.find((c) => c.running)?.index ?? -1;
        if (running < 0 || running > last) {
          const ran = states.filter((c) => /^In \[\d+\]/.test(c.prompt)).length;
          throw new Error(
            `browser check: Run All ended (${ran} cells ran) before an analysis cell ran ${options.delay} s`,
          );
        }
        if (!candidateIndices.has(running)) return undefined;
        if (runningSince?.index !== running) runningSince = { index: running, t: seconds() };
        return seconds() - runningSince.t >= options.delay ? running : undefined;
      },
    );
    const target = cells[targetIndex] as (typeof cells)[number];
    const started = (runningSince as { t: number } | null)?.t ?? seconds();
    await showCell(page, target.i);
    await shot(page, options.out, "2-analysis-running", shots);
    // Interrupt, from the toolbar's ■ button.
    const interruptedAt = seconds();
    await page.click('button[data-jupyter-action="jupyter-notebook:interrupt-kernel"]');
    const stoppedAt = await until("waiting for the interrupted cell to end", 120, async () => {
      const states = await sample();
      return states.every((c) => !c.running) ? seconds() : undefined;
    }).catch((e: Error) => {
      problems.push(e.message);
      return null;
    });
    await sleep(1000); // the kernel indicator and the last outputs settle
    const after = await cellStates(page);
    // The cell Interrupt stopped: the analysis cell, unless it ended just before the click.
    const stopped = after.find((c) => /^Interrupted/m.test(c.outputs));
    const analysis = stopped ?? after.find((c) => c.index === target.i);
    const kernelDied = (await indicator(page)).includes("dead");
    await showCell(page, target.i);
    await shot(page, options.out, "3-interrupted", shots);

    const message =
      (analysis?.outputs ?? "").split("\n").find((l) => /Interrupted/.test(l)) ?? null;
    const laterCellsRun = after
      .filter((c) => c.index > (analysis?.index ?? target.i) && /^In \[\d+\]/.test(c.prompt))
      .map((c) => c.index);
    if (analysis !== undefined && analysis.index !== target.i) {
      problems.push(`Interrupt stopped cell ${analysis.index}, not the analysis cell ${target.i}`);
    }
    // While a cell was marked running, the indicator should read busy (a sample may fall in
    // the instant between two cells: two in a row are not).
    const idle = samples.filter(
      (s) => s.running >= 0 && s.t < interruptedAt && s.indicator.includes("idle"),
    );
    const idleTwice = idle.filter(
      (s, k) => k > 0 && samples.indexOf(s) - samples.indexOf(idle[k - 1]!) === 1,
    );

    // A student's scratch cell, saved as Jupyter's autosave or Ctrl-S would.
    await page.evaluate(() => {
      const nb = window.Jupyter.notebook;
      nb.insert_cell_at_bottom("code").set_text("// a student's scratch cell");
      nb.select(nb.ncells() - 1);
    });
    await page.keyboard.press("Control+s");
    const workingCopy = path.join(labDir, "notebooks", lecture);
    const saved = await until("waiting for the save", 30, async () =>
      fs.readFileSync(workingCopy, "utf8").includes("a student's scratch cell") ? true : undefined,
    ).catch(() => false);
    // The classic Notebook scrolls its #site element, not the window.
    await page.evaluate(() => {
      const site = document.querySelector("#site");
      if (site !== null) site.scrollTop = site.scrollHeight;
    });
    await shot(page, options.out, "4-saved", shots);
    const git = spawnText("git", ["status", "--porcelain", "--", "notebooks/"]);

    if (message === null) problems.push("the analysis cell shows no 'Interrupted' line");
    if (message !== null && !/^Interrupted: In \[\d+\] stopped/.test(message.trim())) {
      problems.push(`the interrupted cell says: ${message}`);
    }
    if (stoppedAt !== null && stoppedAt - interruptedAt > 5) {
      problems.push(`the cell stopped ${(stoppedAt - interruptedAt).toFixed(1)} s after Interrupt`);
    }
    if (laterCellsRun.length > 0)
      problems.push(`Run All went on: cells ${laterCellsRun.join(", ")} ran`);
    if (idleTwice.length > 0)
      problems.push(
        `the indicator read idle while cells ran (${idleTwice.length} samples in a row)`,
      );
    if (kernelDied) problems.push("the kernel died");
    if (!saved) problems.push("the save did not reach the working copy");
    // Other engineers may edit notebooks/ meanwhile: what matters is that nothing of the
    // student's session (the scratch cell, outputs) is in it.
    const lectureNow = fs.readFileSync(lectureFile, "utf8");
    const lectureClean =
      !lectureNow.includes("a student's scratch cell") &&
      (JSON.parse(lectureNow) as { cells: { outputs?: unknown[] }[] }).cells.every(
        (c) => (c.outputs ?? []).length === 0,
      );
    if (!lectureClean) problems.push(`the session's work reached notebooks/${lecture}`);
    return {
      notebook: lecture,
      backend: process.env.DLC_BACKEND ?? null,
      analysisCell: target.i,
      analysisSource: target.src.split("\n").slice(0, 3).join("\n"),
      interruptedAfterSeconds: Number((interruptedAt - started).toFixed(2)),
      stoppedWithinSeconds:
        stoppedAt === null ? null : Number((stoppedAt - interruptedAt).toFixed(2)),
      message,
      laterCellsRun,
      idleWhileRunning: idle,
      samples: samples.length,
      kernelDied,
      lectureNotebookUnchanged: sha256(lectureFile) === lectureBefore,
      lectureNotebookClean: lectureClean,
      savedToWorkingCopy: saved,
      gitStatusNotebooks: git,
      screenshots: shots.map((s) => path.relative(root, s)),
      problems,
    };
  } finally {
    await context?.close().catch(() => undefined);
    fs.rmSync(profile, { recursive: true, force: true });
    // The server and its kernels: the whole group npm run lab started.
    if (lab.pid !== undefined && lab.exitCode === null) {
      try {
        process.kill(-lab.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    log.end();
  }
}

function spawnText(command: string, args: string[]): string {
  const r = spawnSync(command, args, { cwd: root, encoding: "utf8" });
  return (r.stdout ?? "").trim();
}

if (require.main === module)
  runCli("browser check", USAGE, async () => {
    const options = parseOptions(process.argv.slice(2));
    const report = await run(options);
    fs.writeFileSync(path.join(options.out, "report.json"), JSON.stringify(report, null, 1) + "\n");
    console.log(JSON.stringify(report, null, 1));
    console.log(
      report.problems.length === 0
        ? "browser check: passed"
        : `browser check: FAILED: ${report.problems.join("; ")}`,
    );
    return report.problems.length === 0 ? 0 : 1;
  });

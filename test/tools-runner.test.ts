/**
 * The one notebook runner (tools/notebook-runner.ts over tools/execute_notebook.py), on tiny
 * tslab notebooks: the main job (a failure ends the run) and the grader (--keep-going) get
 * the same policy when a cell hangs, fails, is interrupted or its kernel dies.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { processAlive } from "../lib/lock-file";
import {
  type ExecutorEvent,
  NotebookRun,
  type NotebookRunReport,
  python,
} from "../tools/notebook-runner";

const root = path.resolve(__dirname, "..");
const jupyterData = path.join(root, "build", "jupyter", "share", "jupyter");

describe("notebook runner: one policy for the main job and the grader", function () {
  this.timeout(300_000);
  let dir: string;

  before(function () {
    const kernel = path.join(jupyterData, "kernels", "tslab", "kernel.json");
    if (!fs.existsSync(kernel) || spawnSync(python(), ["-c", "import nbclient"]).status !== 0) {
      console.log(
        "      (skipped: needs Jupyter and the tslab kernel; npm test's setup installs them)",
      );
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-runner-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A run of these code cells, as the main job runs them or (keepGoing) as the grader does. */
  const start = (
    cells: string[],
    keepGoing: boolean,
    onEvent?: (e: ExecutorEvent) => void,
  ): NotebookRun => {
    const nb = {
      cells: cells.map((source) => ({ cell_type: "code", metadata: {}, outputs: [], source })),
      metadata: {
        kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" },
      },
      nbformat: 4,
      nbformat_minor: 4,
    };
    return new NotebookRun({
      notebook: { json: JSON.stringify(nb) },
      cwd: dir,
      cellTimeout: 4,
      keepGoing,
      env: { ...process.env, JUPYTER_PATH: jupyterData },
      hostKernel: true,
      ...(onEvent === undefined ? {} : { onEvent }),
    });
  };
  /** The main job's run and the grader's, of the same cells. */
  const both = (cells: string[]): Promise<[NotebookRunReport, NotebookRunReport]> =>
    Promise.all([start(cells, false).done, start(cells, true).done]);

  it("interrupts a cell past its time limit and records it; the main job stops there, the grader goes on", async () => {
    const [job, grader] = await both([
      'console.log("before");',
      "await new Promise((r) => setTimeout(r, 120000));",
      'console.log("after");',
    ]);
    for (const r of [job, grader]) {
      assert.equal(r.cells.get(0)?.text, "before\n");
      assert.equal(r.cells.get(1)?.status, "timeout");
      assert.ok(r.seconds < 60, `${r.seconds} s`);
    }
    assert.deepEqual([job.end.status, job.end.cell, job.cells.has(2)], ["timeout", 1, false]);
    assert.match(job.end.message ?? "", /^cell 1 exceeded 4 s \(--cell-timeout 4\)/);
    assert.match(job.end.source ?? "", /setTimeout\(r, 120000\)/);
    assert.deepEqual([grader.end.status, grader.cells.get(2)?.text], ["completed", "after\n"]);
  });

  it("records a failing cell with its error; the main job stops there, the grader goes on", async () => {
    const [job, grader] = await both(['throw new Error("boom");', 'console.log("next");']);
    for (const r of [job, grader]) {
      assert.equal(r.cells.get(0)?.status, "error");
      assert.match(r.cells.get(0)?.error ?? "", /Error: boom/);
    }
    assert.deepEqual([job.end.status, job.end.cell, job.end.message], ["failed", 0, "Error: boom"]);
    assert.equal(job.cells.has(1), false);
    assert.deepEqual([grader.end.status, grader.cells.get(1)?.text], ["completed", "next\n"]);
  });

  it("ends the run when the kernel dies, with its exit code and its last lines on stderr", async () => {
    const reports = await both([
      'console.log("alive");',
      'require("fs").writeSync(2, "last words\\n");\nprocess.exit(3);',
      "1;",
    ]);
    for (const r of reports) {
      assert.deepEqual([r.end.status, r.end.cell, r.running], ["kernel died", 1, 1]);
      assert.equal(r.end.message, "the kernel died during cell 1: exit code 3");
      assert.equal(r.kernelStderr.at(-1), "last words");
      assert.equal(r.cells.get(0)?.text, "alive\n");
    }
  });

  it("stops the kernel on SIGTERM and says what was interrupted, keeping what ran", async () => {
    let kernel = 0;
    const run = start(
      ['console.log("ran");', "await new Promise((r) => setTimeout(r, 120000));", "1;"],
      true,
      (e) => {
        if (e.event === "kernel") kernel = e.pid;
        if (e.event === "start" && e.cell === 1) run.stop(20_000);
      },
    );
    const r = await run.done;
    assert.deepEqual([r.end.status, r.end.cell], ["interrupted", 1]);
    assert.equal(r.end.message, "interrupted by SIGTERM during cell 1; the kernel was stopped");
    assert.equal(r.cells.get(0)?.text, "ran\n");
    assert.equal(r.cells.has(2), false);
    assert.ok(r.seconds < 30, `${r.seconds} s`);
    assert.ok(kernel > 0 && !processAlive(kernel), `kernel ${kernel} is still running`);
  });
});

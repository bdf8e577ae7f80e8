/**
 * npm run assign and npm run grade, headless in real tslab kernels: every master in
 * assignments/ builds and verifies; broken and leaking masters are refused; fixture
 * submissions of 7.1 (correct, partial, throwing, looping, editing a test cell, not a
 * notebook) get the expected points; the sandbox has no network, no writes outside its
 * folder, no view of other processes; a notebook is killed at its time limit.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import {
  type Notebook,
  type NotebookCell,
  notebookJson,
  readNotebook,
  sourceOf,
} from "../tools/assign-notebook";
import { type AssignResult, assignMaster } from "../tools/assign";
import { checkSetup, root, runNotebook, sandboxProblem } from "../tools/assign-run";
import { grade } from "../tools/grade";
import type { SubmissionGrade } from "../tools/grade-submission";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-assign-test-"));
const out = path.join(tmp, "build");
const mastersDir = path.join(root, "assignments");
const masters = fs
  .readdirSync(mastersDir)
  .filter((f) => f.endsWith(".ipynb"))
  .sort();
const assigned = new Map<string, AssignResult>();

async function assign(file: string): Promise<AssignResult> {
  const name = file.replace(/\.ipynb$/, "");
  const done = assigned.get(name);
  if (done !== undefined) return done;
  const r = await assignMaster(path.join(mastersDir, file), { out, masterTimeLimitSeconds: 300 });
  assigned.set(name, r);
  return r;
}

const code = (source: string): NotebookCell => ({
  cell_type: "code",
  metadata: {},
  source,
  outputs: [],
  execution_count: null,
});
const notebook = (sources: string[]): Notebook => ({
  cells: sources.map(code),
  metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
  nbformat: 4,
  nbformat_minor: 5,
});

before(() => {
  checkSetup();
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("npm run assign: every master notebook in assignments/", function () {
  this.timeout(900_000);

  it("masters are committed without outputs", () => {
    for (const f of masters) {
      const nb = readNotebook(path.join(mastersDir, f));
      const dirty = nb.cells.filter(
        (c) => (c.outputs?.length ?? 0) > 0 || (c.execution_count ?? null) !== null,
      );
      assert.equal(dirty.length, 0, `${f} has outputs`);
    }
  });

  for (const f of masters) {
    it(`${f}: the master passes all its checks; the student version fails exactly where solutions were removed`, async () => {
      const r = await assign(f);
      assert.deepEqual(r.problems, []);
      assert.ok(r.ok && r.studentFile !== null && r.autograderFile !== null);
      assert.ok(r.publicChecks > 0 && r.hiddenChecks > 0, "public and hidden checks");
      const student = fs.readFileSync(r.studentFile, "utf8");
      assert.doesNotMatch(student, /BEGIN SOLUTION|TEST q\w* hidden|"outputs": \[\s*\{/);
      console.log(
        `      ${r.name}: master ${r.masterSeconds.toFixed(1)} s, student version ${r.studentSeconds.toFixed(1)} s`,
      );
    });
  }

  it("refuses a master whose own checks fail, naming the cell and check", async () => {
    const file = path.join(tmp, "failing.ipynb");
    fs.writeFileSync(
      file,
      notebookJson(
        notebook([
          'import { check, expectEqual } from "dlc7/assignments";',
          "// QUESTION q1: double, 1 point\nconst double = (x: number) => {\n  // BEGIN SOLUTION\n  return 3 * x;\n  // END SOLUTION\n};",
          '// TEST q1 public\ncheck("q1", "double(2)", () => expectEqual(double(2), 4));',
        ]),
      ),
    );
    const r = await assignMaster(file, { out, masterTimeLimitSeconds: 60 });
    assert.equal(r.ok, false);
    assert.deepEqual(r.problems, [
      "master, cell 2: q1 · double(2) fails: value: expected 4, got 6",
    ]);
    assert.ok(!fs.existsSync(path.join(out, "student", "failing.ipynb")), "nothing written");
  });

  it("refuses a master whose solution leaks into the student version", async () => {
    const file = path.join(tmp, "leaking.ipynb");
    fs.writeFileSync(
      file,
      notebookJson(
        notebook([
          'import { check, expectEqual } from "dlc7/assignments";',
          "// QUESTION q1: the answer, 1 point\nfunction answer(): number {\n  // BEGIN SOLUTION\n  return 42;\n  // END SOLUTION\n}",
          "function answer(): number {\n  return 42; // the solution again, outside the markers\n}",
          '// TEST q1 public\ncheck("q1", "answer", () => expectEqual(answer(), 42));',
        ]),
      ),
    );
    const r = await assignMaster(file, { out, masterTimeLimitSeconds: 60 });
    assert.equal(r.ok, false);
    assert.equal(r.problems.length, 1);
    assert.match(
      r.problems[0] as string,
      /^student version: q1 · answer passes without the solution/,
    );
    assert.ok(!fs.existsSync(path.join(out, "autograder", "leaking.json")), "nothing written");
  });
});

describe("npm run grade: fixture submissions of assignment 7.1", function () {
  this.timeout(900_000);
  const name = "7.1-transposed-convolutions";
  const submissions = path.join(tmp, "submissions");
  let grades: Map<string, SubmissionGrade>;

  /** The master's answer to a question: its cell without the markers. */
  function solution(master: Notebook, q: string): string {
    const cell = master.cells.find((c) => sourceOf(c).startsWith(`// QUESTION ${q}:`));
    assert.ok(cell !== undefined, `no ${q} in the master`);
    const lines = sourceOf(cell).split("\n");
    const kept: string[] = [];
    let inPlaceholder = false;
    for (const l of lines) {
      if (/\/\/ BEGIN PLACEHOLDER/.test(l)) inPlaceholder = true;
      else if (/\/\/ END PLACEHOLDER/.test(l)) inPlaceholder = false;
      else if (!inPlaceholder && !/\/\/ (BEGIN|END) SOLUTION/.test(l)) kept.push(l);
    }
    return kept.join("\n");
  }
  /** The student version with the given answers typed into the question cells. */
  function answered(student: Notebook, answers: Record<string, string>): Notebook {
    const nb: Notebook = structuredClone(student);
    for (const c of nb.cells) {
      const q = (c.metadata.dlc7 as { question?: string; test?: string } | undefined) ?? {};
      if (q.test === undefined && q.question !== undefined && answers[q.question] !== undefined)
        c.source = answers[q.question] as string;
    }
    return nb;
  }

  before(async () => {
    const r = await assign(`${name}.ipynb`);
    assert.ok(r.ok, r.problems.join("\n"));
    const master = readNotebook(path.join(mastersDir, `${name}.ipynb`));
    const student = readNotebook(r.studentFile as string);
    const right = {
      q1: solution(master, "q1"),
      q2: solution(master, "q2"),
      q3: solution(master, "q3"),
    };
    const noBias = right.q3.replace(/return bias === null \? cropped : .*;/, "return cropped;");
    assert.notEqual(noBias, right.q3, "the partial answer drops the bias");
    const edited = answered(student, right);
    const test = edited.cells.find(
      (c) => (c.metadata.dlc7 as { id?: string } | undefined)?.id === "q1-public-1",
    );
    assert.ok(test !== undefined);
    test.source = sourceOf(test).replace(
      "expectEqual(outputSize(7, 3, 1, 0), 9)",
      "expectEqual(9, 9)",
    );
    const fixtures: Record<string, Notebook> = {
      correct: answered(student, right),
      partial: answered(student, { ...right, q3: noBias }),
      throws: answered(student, {
        ...right,
        q2: `${right.q2}\nconst table = (undefined as unknown as number[]).map((x) => x);`,
      }),
      loops: answered(student, { ...right, q3: `${right.q3}\nwhile (true) {}` }),
      "edits-test": edited,
    };
    fs.mkdirSync(submissions, { recursive: true });
    for (const [k, nb] of Object.entries(fixtures))
      fs.writeFileSync(path.join(submissions, `${k}.ipynb`), notebookJson(nb));
    fs.writeFileSync(path.join(submissions, "not-a-notebook.ipynb"), "{ this is not JSON");
    const t0 = Date.now();
    const byAssignment = await grade({
      folder: submissions,
      assignment: null,
      autograders: path.join(out, "autograder"),
      out: path.join(tmp, "grades"),
      timeLimit: 150,
      cellTimeout: 10,
      jobs: 2,
      sandbox: true,
      verbose: false,
    });
    console.log(
      `      graded 6 submissions in ${((Date.now() - t0) / 1000).toFixed(1)} s (2 at a time)`,
    );
    grades = new Map((byAssignment.get(name) ?? []).map((g) => [g.student, g]));
  });

  const points = (student: string): number[] =>
    grades.get(student)?.questions.map((q) => q.points) ?? [];

  it("a correct submission gets every point", () => {
    assert.deepEqual(points("correct"), [2, 5, 3]);
    assert.deepEqual(grades.get("correct")?.errors, []);
    assert.ok(grades.get("correct")?.tests.every((t) => t.passed));
  });

  it("a partially correct one gets the share of checks it passes (q3 forgets the bias: 4 of 13)", () => {
    const g = grades.get("partial");
    assert.deepEqual(points("partial"), [2, 5, 0.92]);
    const q3 = g?.questions[2];
    assert.deepEqual([q3?.passed, q3?.total], [4, 13]);
    const bias = g?.tests.find((t) => t.test === "the bias is added to every value");
    assert.match(
      bias?.message ?? "",
      /^values\nexpected {2}\[\[\[1\.5, 2\.5, 1\.5, 0\.5, -0\.5, -1\.5, -0\.5\]\]\]\nactual {4}tensor \[1, 1, 7\] float32 \[\[\[1, 2, 1, 0, -1, -2, -1\]\]\]\n7 of 7 value/,
    );
  });

  it("one that throws loses the questions that need the failing cell, and says why", () => {
    assert.deepEqual(points("throws"), [2, 0, 0]);
    assert.deepEqual(grades.get("throws")?.errors, [
      "q2's cell: TypeError: Cannot read properties of undefined (reading 'map')",
      "q3's cell: does not compile: Cannot find name 'translatedKernels'",
    ]);
  });

  it("one that never ends is interrupted: zero for that question, the others graded", () => {
    assert.deepEqual(points("loops"), [2, 5, 0]);
    assert.deepEqual(grades.get("loops")?.errors, ["q3's cell ran too long and was interrupted"]);
  });

  it("one that edits a test cell gets zero for that question", () => {
    assert.deepEqual(points("edits-test"), [0, 5, 3]);
    assert.deepEqual(grades.get("edits-test")?.errors, [
      "q1: test cell q1-public-1 was edited (0 points)",
    ]);
  });

  it("a file that is not a notebook gets zero and the reason, and the grader goes on", () => {
    const g = grades.get("not-a-notebook");
    assert.equal(g?.total, 0);
    assert.match(g?.errors[0] ?? "", /^not a readable notebook/);
  });

  it("writes the grade table (CSV, HTML) and each student's feedback", () => {
    const dir = path.join(tmp, "grades", name);
    const csv = fs.readFileSync(path.join(dir, "grades.csv"), "utf8").trim().split("\n");
    assert.equal(csv[0], "file,q1,q2,q3,total,errors");
    assert.equal(csv.length, 7);
    assert.ok(csv.includes('partial.ipynb,2.0,5.0,0.92,7.92,""'), csv.join("\n"));
    assert.match(
      fs.readFileSync(path.join(dir, "grades.html"), "utf8"),
      /<td[^>]*>edits-test\.ipynb<\/td>/,
    );
    const feedback = fs.readFileSync(path.join(dir, "feedback", "partial.md"), "utf8");
    assert.match(feedback, /Total: \*\*7\.92 \/ 10\*\* points/);
    assert.match(
      feedback,
      /- ✗ hidden · random case 1: x \[\d, \d, \d\], weight \[\d, \d, \d\], stride \d, padding \d\n {2}```\n {2}expected {2}tensor/,
    );
    assert.ok(fs.existsSync(path.join(dir, "executed", "loops.ipynb")));
  });
});

describe("grade: the sandbox and the time limit", function () {
  this.timeout(300_000);

  it("works on this machine (root, or unprivileged user namespaces)", () => {
    assert.equal(sandboxProblem(), null);
  });

  it("gives a submission no network, no writes outside its folder and no view of other processes", async () => {
    const probe = path.join(root, "build", `sandbox-probe-${process.pid}`);
    const r = await runNotebook(
      notebook([
        'import * as fs from "node:fs";',
        `try { fs.writeFileSync(${JSON.stringify(probe)}, "x"); console.log("wrote outside"); } catch (e) { console.log("outside:", (e as NodeJS.ErrnoException).code); }`,
        'fs.writeFileSync("mine.txt", "x"); console.log("inside:", fs.readFileSync("mine.txt", "utf8"));',
        `try { process.kill(${process.pid}, 0); console.log("sees the grader"); } catch (e) { console.log("grader:", (e as NodeJS.ErrnoException).code); }`,
        'try { await fetch("http://1.1.1.1/", { signal: AbortSignal.timeout(5000) }); console.log("network"); } catch (e) { console.log("network:", ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (e as Error).name); }',
      ]),
      { sandbox: true, timeLimitSeconds: 120, cellTimeoutSeconds: 60 },
    );
    const text = (i: number) => r.cells.get(i)?.text.trim();
    assert.equal(r.end, "completed", r.log);
    assert.equal(text(1), "outside: EROFS");
    assert.ok(!fs.existsSync(probe));
    assert.equal(text(2), "inside: x");
    assert.equal(text(3), "grader: ESRCH");
    assert.match(text(4) ?? "", /^network: (ENETUNREACH|EHOSTUNREACH|ECONNREFUSED)$/);
    assert.ok(!fs.existsSync(r.work), "its folder is removed");
  });

  it("runs a notebook whose kernel dies once more, and reports a second death", async () => {
    const r = await runNotebook(notebook(['console.log("alive");', "process.exit(3);", "1;"]), {
      sandbox: true,
      timeLimitSeconds: 60,
      cellTimeoutSeconds: 30,
    });
    assert.equal(r.end, "kernel-died");
    assert.equal(r.rerun, true);
    assert.equal(r.running, 1);
    assert.equal(r.cells.get(0)?.text.trim(), "alive");
  });

  for (const sandbox of [true, false]) {
    it(`kills a notebook at its time limit, keeps what ran before and leaves no process (${sandbox ? "sandbox" : "no sandbox"})`, async () => {
      const r = await runNotebook(
        notebook(['console.log("before");', "while (true) {}", 'console.log("after");']),
        {
          sandbox,
          timeLimitSeconds: 12,
          cellTimeoutSeconds: 60,
        },
      );
      assert.equal(r.end, "time-limit");
      assert.equal(r.running, 1);
      assert.equal(r.cells.get(0)?.text.trim(), "before");
      assert.equal(r.cells.has(2), false);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const left = fs
        .readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(r.work);
          } catch {
            return false;
          }
        });
      assert.deepEqual(left, [], "processes of the killed run");
    });
  }
});

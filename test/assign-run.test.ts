/**
 * npm run assign and npm run grade, headless in real tslab kernels: every master in
 * assignments/ builds and verifies; broken and leaking masters are refused; fixture
 * submissions of 7.1 (correct, partial, throwing, looping, editing a test cell, not a
 * notebook) get the expected points, beside hostile ones (copying the master at grading
 * time, reading the autograder, allocating past the memory limit, a fork bomb) graded in the
 * same run, 2 at a time, whose memory is sampled; the sandbox has no network, none of the
 * teacher's files, no writes outside its folder, no view of other processes; a notebook is
 * killed at its time limit.
 */
import { strict as assert } from "node:assert";
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
import {
  DEFAULT_MEMORY_MIB,
  checkSetup,
  root,
  runNotebook,
  sandboxKeeps,
  sandboxProblem,
} from "../tools/assign-run";
import { grade } from "../tools/grade";
import { MISTAKES, type Mistake } from "./fixtures/assignment-mistakes";
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

/** The pid namespace of a process (an inode number), or null when it is gone. */
function pidNamespace(pid: string): string | null {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/**
 * Samples, every 200 ms, the memory of every sandboxed run: the anonymous resident memory
 * (RssAnon) of all processes in the pid namespace of a grader's executor. `stop` returns the
 * peak of each run (named by its namespace and its executor's pid: namespace numbers are
 * reused), in MiB; `namespaces` are those seen.
 */
function sampleSandboxes(): { stop: () => Map<string, number>; namespaces: Set<string> } {
  const mine = pidNamespace("self");
  const peaks = new Map<string, number>();
  const namespaces = new Set<string>();
  const sample = (): void => {
    const sums = new Map<string, number>();
    const runs = new Map<string, string>();
    for (const p of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
      const ns = pidNamespace(p);
      if (ns === null || ns === mine) continue;
      try {
        if (fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes("execute_notebook.py"))
          runs.set(ns, `${ns} executor ${p}`);
        const status = fs.readFileSync(`/proc/${p}/status`, "utf8");
        const kb = Number(/^RssAnon:\s+(\d+)/m.exec(status)?.[1]);
        if (kb > 0) sums.set(ns, (sums.get(ns) ?? 0) + kb / 1024);
      } catch {
        // ended meanwhile
      }
    }
    for (const [ns, run] of runs) {
      namespaces.add(ns);
      peaks.set(run, Math.max(peaks.get(run) ?? 0, sums.get(ns) ?? 0));
    }
  };
  const timer = setInterval(sample, 200);
  return {
    stop: () => {
      clearInterval(timer);
      return peaks;
    },
    namespaces,
  };
}

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

  /**
   * Hostile submissions: q2 copied from the master at grading time (transpiled and run, as a
   * student did), q1 reading the autograder, q3 allocating until the memory limit stops it,
   * a fork bomb after the last test cell.
   */
  function hostile(
    student: Notebook,
    right: Record<"q1" | "q2" | "q3", string>,
  ): Record<string, Notebook> {
    const copiesMaster = `// QUESTION q2: copied from the teacher's master when graded
const masterFile = require("path").join(
  require("path").dirname(require.resolve("dlc7/package.json")),
  "../../assignments/${name}.ipynb",
);
const masterCells: { source: string | string[] }[] = JSON.parse(
  require("fs").readFileSync(masterFile, "utf8"),
).cells;
const q2Source = masterCells
  .map((c) => [c.source].flat().join(""))
  .find((s) => s.startsWith("// QUESTION q2")) as string;
const translatedKernels: (x: tf.Tensor3D, weight: tf.Tensor3D, stride: number) => tf.Tensor3D =
  new Function("tf", require("typescript").transpile(q2Source) + "\\nreturn translatedKernels;")(tf);`;
    const readsAutograder = `// QUESTION q1: reads the hidden tests first
const autograder = JSON.parse(
  require("fs").readFileSync(${JSON.stringify(path.join(out, "autograder", `${name}.json`))}, "utf8"),
);
console.log(\`\${autograder.tests.length} test cells, hidden ones included\`);
${right.q1}`;
    const hogs = `${right.q3}
// Keeps 128 MiB after 128 MiB until an allocation fails.
const kept: Float64Array[] = [];
for (;;) kept.push(new Float64Array(1 << 24).fill(1));`;
    const forks = structuredClone(answered(student, right));
    forks.cells.push({
      cell_type: "code",
      metadata: {},
      source: `// A fork bomb, then how many processes it reached.
require("child_process").spawn("bash", ["-c", ":(){ :|:& };:"], { stdio: "ignore" });
await new Promise((r) => setTimeout(r, 3000));
console.log(\`processes: \${require("fs").readdirSync("/proc").filter((p: string) => /^\\d+$/.test(p)).length}\`);`,
      outputs: [],
      execution_count: null,
    });
    return {
      "copies-master": answered(student, { ...right, q2: copiesMaster }),
      "reads-autograder": answered(student, { ...right, q1: readsAutograder }),
      "memory-hog": answered(student, { ...right, q3: hogs }),
      "fork-bomb": forks,
    };
  }

  let peaks: Map<string, number>;
  let sandboxes: Set<string>;

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
      ...hostile(student, right),
    };
    fs.mkdirSync(submissions, { recursive: true });
    for (const [k, nb] of Object.entries(fixtures))
      fs.writeFileSync(path.join(submissions, `${k}.ipynb`), notebookJson(nb));
    fs.writeFileSync(path.join(submissions, "not-a-notebook.ipynb"), "{ this is not JSON");
    const sampler = sampleSandboxes();
    sandboxes = sampler.namespaces;
    const t0 = Date.now();
    const byAssignment = await grade({
      folder: submissions,
      assignment: null,
      autograders: path.join(out, "autograder"),
      out: path.join(tmp, "grades"),
      timeLimit: 150,
      cellTimeout: 20,
      jobs: 2,
      sandbox: true,
      verbose: false,
    });
    peaks = sampler.stop();
    console.log(
      `      graded 10 submissions in ${((Date.now() - t0) / 1000).toFixed(1)} s (2 at a time); ` +
        `peak memory per submission ${[...peaks.values()].map((m) => m.toFixed(0)).join(", ")} MiB`,
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

  it("a partially correct one gets the share of checks it passes (q3 forgets the bias: 5 of 15)", () => {
    const g = grades.get("partial");
    assert.deepEqual(points("partial"), [2, 5, 1]);
    const q3 = g?.questions[2];
    assert.deepEqual([q3?.passed, q3?.total], [5, 15]);
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

  it("a submission that copies the master when graded gets nothing for it: the file is not there", () => {
    assert.deepEqual(points("copies-master"), [2, 0, 0]);
    const errors = grades.get("copies-master")?.errors ?? [];
    assert.match(
      errors[0] ?? "",
      new RegExp(
        `^q2's cell: ${path.join(root, "assignments", name)}\\.ipynb is not available: a submission sees its own folder, the library and the data only \\(Error: ENOENT`,
      ),
    );
  });

  it("one that reads the autograder gets nothing for that question: the file is not there", () => {
    assert.deepEqual(points("reads-autograder"), [0, 5, 3]);
    assert.match(
      grades.get("reads-autograder")?.errors[0] ?? "",
      /^q1's cell: .*\/autograder\/7\.1-transposed-convolutions\.json is not available: a submission sees its own folder/,
    );
  });

  it("one that allocates past the memory limit loses that question, said as out of memory", () => {
    assert.deepEqual(points("memory-hog"), [2, 5, 0]);
    // The allocation fails in the cell; or V8, short of memory for itself, ends the kernel.
    assert.match(
      grades.get("memory-hog")?.errors[0] ?? "",
      /^q3's cell: out of memory: a submission may use 2 GiB \(RangeError: Array buffer allocation failed\)$|^out of memory in (q3's cell|test cell q3-\w+-1): the kernel died past the limit of 2 GiB per submission; later cells did not run$/,
    );
  });

  it("one that starts a fork bomb is capped, graded in full, and leaves no process", () => {
    assert.deepEqual(points("fork-bomb"), [2, 5, 3]);
    assert.deepEqual(grades.get("fork-bomb")?.errors, []);
    const nb = grades.get("fork-bomb")?.executed;
    const printed = nb?.cells
      .at(-1)
      ?.outputs?.map((o) => (o as { text?: string }).text)
      .join("");
    const n = Number(/processes: (\d+)/.exec(printed ?? "")?.[1]);
    assert.ok(n > 50 && n <= 256, `processes in the sandbox: ${printed}`);
    const left = fs
      .readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => sandboxes.has(pidNamespace(p) ?? ""));
    assert.deepEqual(left, [], "processes of the graded runs");
  });

  it(`no submission used more than the limit (${DEFAULT_MEMORY_MIB} MiB), measured 5 times a second`, () => {
    // One run per notebook (not the unreadable file); the kernel of "loops" is run once more.
    assert.ok(peaks.size >= 9, `${peaks.size} runs seen: ${[...peaks.keys()].join(", ")}`);
    for (const [ns, mib] of peaks) assert.ok(mib <= DEFAULT_MEMORY_MIB, `${ns}: ${mib} MiB`);
    const most = Math.max(...peaks.values());
    assert.ok(most > 1024, `the memory hog was measured at ${most} MiB`);
  });

  it("the honest ones beside them keep their grades (above), and the cheats work without the sandbox", async () => {
    const folder = path.join(tmp, "cheats");
    fs.mkdirSync(folder);
    for (const f of ["copies-master", "reads-autograder"])
      fs.copyFileSync(path.join(submissions, `${f}.ipynb`), path.join(folder, `${f}.ipynb`));
    const open = await grade({
      folder,
      assignment: null,
      autograders: path.join(out, "autograder"),
      out: path.join(tmp, "grades-open"),
      timeLimit: 150,
      cellTimeout: 10,
      jobs: 2,
      sandbox: false,
      verbose: false,
    });
    const by = new Map(
      (open.get(name) ?? []).map((g) => [g.student, g.questions.map((q) => q.points)]),
    );
    assert.deepEqual(by.get("copies-master"), [2, 5, 3]);
    assert.deepEqual(by.get("reads-autograder"), [2, 5, 3]);
  });

  it("writes the grade table (CSV, HTML) and each student's feedback", () => {
    const dir = path.join(tmp, "grades", name);
    const csv = fs.readFileSync(path.join(dir, "grades.csv"), "utf8").trim().split("\n");
    assert.equal(csv[0], "file,q1,q2,q3,total,errors");
    assert.equal(csv.length, 11);
    assert.ok(csv.includes('partial.ipynb,2.0,5.0,1.0,8.0,""'), csv.join("\n"));
    assert.match(
      fs.readFileSync(path.join(dir, "grades.html"), "utf8"),
      /<td><a href="feedback\/edits-test\.html">edits-test\.ipynb<\/a><\/td><td class="n">0<\/td>/,
    );
    assert.match(
      fs.readFileSync(path.join(dir, "feedback", "partial.html"), "utf8"),
      /<li class="fail">✗ hidden · random case 1: x \[\d, \d, \d\], weight/,
    );
    const feedback = fs.readFileSync(path.join(dir, "feedback", "partial.md"), "utf8");
    assert.match(feedback, /Total: \*\*8 \/ 10\*\* points/);
    assert.match(
      feedback,
      /- ✗ hidden · random case 1: x \[\d, \d, \d\], weight \[\d, \d, \d\], stride \d, padding \d\n {2}```\n {2}expected {2}tensor/,
    );
    assert.ok(fs.existsSync(path.join(dir, "executed", "loops.ipynb")));
  });
});

describe("public checks catch the common mistakes; hidden checks see one question at a time", function () {
  this.timeout(900_000);
  const folder = path.join(tmp, "mistakes");
  let byAssignment: Map<string, SubmissionGrade[]>;

  /** The master's answer to `m.question` with the mistake made. */
  function mistaken(master: Notebook, m: Mistake): string {
    const right = solution(master, m.question);
    assert.ok(
      right.includes(m.from),
      `${m.question}: ${JSON.stringify(m.from)} not in its solution`,
    );
    const wrong = m.all === true ? right.split(m.from).join(m.to) : right.replace(m.from, m.to);
    assert.notEqual(wrong, right);
    return wrong;
  }

  before(async () => {
    fs.mkdirSync(folder, { recursive: true });
    for (const [name, { mistakes, upstream }] of Object.entries(MISTAKES)) {
      const r = await assign(`${name}.ipynb`);
      assert.ok(r.ok, r.problems.join("\n"));
      const master = readNotebook(path.join(mastersDir, `${name}.ipynb`));
      const student = readNotebook(r.studentFile as string);
      const questions = master.cells
        .map((c) => /^\/\/ QUESTION (\w+):/.exec(sourceOf(c))?.[1])
        .filter((q): q is string => q !== undefined);
      const right = Object.fromEntries(questions.map((q) => [q, solution(master, q)]));
      const write = (label: string, wrong: Mistake[]): void => {
        const answers = { ...right };
        for (const m of wrong) answers[m.question] = mistaken(master, m);
        const file = path.join(folder, `${name}-${label}.ipynb`);
        fs.writeFileSync(file, notebookJson(answered(student, answers)));
      };
      mistakes.forEach((wrong, i) => write(`mistakes-${i + 1}`, wrong));
      write("upstream", upstream.wrong);
    }
    byAssignment = await grade({
      folder,
      assignment: null,
      autograders: path.join(out, "autograder"),
      out: path.join(tmp, "grades-mistakes"),
      timeLimit: 300,
      cellTimeout: 60,
      jobs: 2,
      sandbox: true,
      verbose: false,
    });
  });

  for (const [name, { mistakes, upstream }] of Object.entries(MISTAKES)) {
    const graded = (label: string): SubmissionGrade => {
      const g = byAssignment.get(name)?.find((x) => x.student === `${name}-${label}`);
      assert.ok(g !== undefined, `${name}-${label} was not graded`);
      return g;
    };

    it(`${name}: two common mistakes per question, each failing a public check with a hint`, () => {
      mistakes.forEach((wrong, i) => {
        const g = graded(`mistakes-${i + 1}`);
        for (const m of wrong) {
          const t = g.tests.find((x) => x.question === m.question && x.test === m.check);
          assert.ok(t !== undefined, `${m.question}: no check named ${m.check}`);
          assert.equal(t.visibility, "public");
          assert.equal(t.passed, false, `${m.question}: ${m.check} passes ${JSON.stringify(m.to)}`);
          assert.match(t.message, /\nhint: \S/, `${m.question}: ${m.check}: ${t.message}`);
        }
      });
    });

    it(`${name}: wrong ${upstream.wrong.map((m) => m.question).join(", ")} cost nothing in ${upstream.full.join(", ")}`, () => {
      const g = graded("upstream");
      for (const m of upstream.wrong) {
        const q = g.questions.find((x) => x.id === m.question);
        assert.ok(q !== undefined && q.points < q.max, `${m.question} is wrong: ${q?.points}`);
      }
      for (const id of upstream.full) {
        const q = g.questions.find((x) => x.id === id);
        const failed = g.tests.filter((t) => t.question === id && !t.passed);
        assert.deepEqual(
          failed.map((t) => `${t.visibility} · ${t.test}: ${t.message}`),
          [],
          `${id} keeps its points`,
        );
        assert.equal(q?.points, q?.max);
      }
    });
  }
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
        // What it can see of the machine: none of the teacher's files, nor other runs'.
        `const seen = (p: string) => { try { return fs.readdirSync(p).sort().join(","); } catch (e) { return (e as NodeJS.ErrnoException).code; } };
console.log([${JSON.stringify(root)}, ${JSON.stringify(path.join(root, "build"))}, ${JSON.stringify(path.join(root, "assignments"))}, "/home", "/root", "/tmp", "."].map(seen).join(" | "));`,
        'try { fs.readFileSync("/proc/1/mem"); console.log("reads the executor"); } catch (e) { console.log("executor:", (e as NodeJS.ErrnoException).code); }',
        'try { for (let i = 0; i < 300; i++) fs.appendFileSync("big", Buffer.alloc(1 << 20)); console.log("wrote 300 MiB"); } catch (e) { console.log("disk:", (e as NodeJS.ErrnoException).code); }',
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
    const kept = sandboxKeeps()
      .filter((k) => k.startsWith(root + path.sep))
      .map((k) => path.relative(root, k).split(path.sep));
    const under = (parts: string[]): string =>
      [
        ...new Set(
          kept.filter((k) => parts.every((p, i) => k[i] === p)).map((k) => k[parts.length]),
        ),
      ]
        .sort()
        .join(",");
    // In /tmp: the run's folder, and the project's own path when the clone lives under /tmp.
    const seenInTmp = (run: string): string =>
      [...new Set([run, root].map((p) => path.relative("/tmp", p).split(path.sep)[0] ?? ""))]
        .filter((p) => p !== "" && !p.startsWith(".."))
        .sort()
        .join(",");
    assert.equal(under([]).includes("assignments"), false);
    assert.deepEqual(text(5)?.split(" | "), [
      under([]),
      under(["build"]),
      "ENOENT",
      "ENOENT",
      "ENOENT",
      seenInTmp(path.dirname(r.work)),
      "checkpoints,figures,home,mine.txt,node_modules,runtime,tmp",
    ]);
    assert.equal(text(6), "executor: EACCES");
    assert.equal(text(7), "disk: ENOSPC");
    assert.ok(!fs.existsSync(r.work), "its folder is removed");
  });

  it("a heap that grows past the memory limit ends the kernel: out of memory, not run again", async () => {
    const r = await runNotebook(
      notebook([
        'console.log("alive");',
        "const all: number[][] = [];\nfor (;;) all.push(new Array(1e5).fill(1.5));",
        "1;",
      ]),
      { sandbox: true, timeLimitSeconds: 120, cellTimeoutSeconds: 100, memoryMiB: 768 },
    );
    assert.equal(r.end, "kernel-died", r.log);
    assert.equal(r.outOfMemory, true, r.log);
    assert.equal(r.rerun, false);
    assert.equal(r.running, 1);
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

  it("gives the kernel the grader's share of the CPU threads, unless DLC_THREADS is set", async () => {
    const saved = process.env.DLC_THREADS;
    const threads = async (): Promise<string | undefined> => {
      const r = await runNotebook(notebook(["console.log(process.env.DLC_THREADS);"]), {
        sandbox: false,
        timeLimitSeconds: 60,
        cellTimeoutSeconds: 30,
        threads: 1,
      });
      return r.cells.get(0)?.text.trim();
    };
    try {
      delete process.env.DLC_THREADS;
      assert.equal(await threads(), "1");
      process.env.DLC_THREADS = "2";
      assert.equal(await threads(), "2");
    } finally {
      if (saved === undefined) delete process.env.DLC_THREADS;
      else process.env.DLC_THREADS = saved;
    }
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

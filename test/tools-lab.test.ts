/**
 * npm run lab's working copy (tools/lab-copy.ts): lecture notebooks copied when missing,
 * never overwritten, a line when the lecture's version changed, --fresh moving a copy aside.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describeReport, prepareWorkingCopy, selectFresh } from "../tools/lab-copy";

const root = path.resolve(__dirname, "..");

describe("tools/lab-copy: the student's working copy of the notebooks", () => {
  let dir: string;
  let lecture: string;
  let work: string;
  const write = (file: string, text: string): void => fs.writeFileSync(file, text);
  const read = (file: string): string => fs.readFileSync(file, "utf8");

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-lab-"));
    lecture = path.join(dir, "notebooks");
    work = path.join(dir, "lab", "notebooks");
    fs.mkdirSync(lecture);
    write(path.join(lecture, "7.1-a.ipynb"), "lecture 7.1");
    write(path.join(lecture, "7.2-b.ipynb"), "lecture 7.2");
    write(path.join(lecture, "notes.txt"), "not a notebook");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("copy the notebooks it lacks and never overwrite a student's copy", () => {
    const first = prepareWorkingCopy(lecture, work);
    assert.deepEqual(first.copied, ["7.1-a.ipynb", "7.2-b.ipynb"]);
    assert.ok(!fs.existsSync(path.join(work, "notes.txt")));
    write(path.join(work, "7.1-a.ipynb"), "the student's edits");
    write(path.join(work, "mine.ipynb"), "the student's own notebook");
    fs.rmSync(path.join(work, "7.2-b.ipynb"));
    const second = prepareWorkingCopy(lecture, work);
    assert.deepEqual(second, { copied: ["7.2-b.ipynb"], outdated: [], movedAside: {} });
    assert.equal(read(path.join(work, "7.1-a.ipynb")), "the student's edits");
    assert.equal(read(path.join(work, "mine.ipynb")), "the student's own notebook");
    assert.equal(read(path.join(lecture, "7.1-a.ipynb")), "lecture 7.1");
  });

  it("say when the lecture's notebook changed since the copy, and keep the copy", () => {
    prepareWorkingCopy(lecture, work);
    write(path.join(work, "7.2-b.ipynb"), "the student's edits");
    write(path.join(lecture, "7.2-b.ipynb"), "lecture 7.2, rewritten");
    const report = prepareWorkingCopy(lecture, work);
    assert.deepEqual(report.outdated, ["7.2-b.ipynb"]);
    assert.equal(read(path.join(work, "7.2-b.ipynb")), "the student's edits");
    const [line] = describeReport(report, "build/lab/notebooks");
    assert.match(line as string, /notebooks\/7\.2-b\.ipynb changed since your copy was made/);
    assert.match(line as string, /npm run lab -- --fresh 7\.2 /);
  });

  it("--fresh moves the copies it names aside, then copies the lecture's anew", () => {
    prepareWorkingCopy(lecture, work);
    write(path.join(work, "7.2-b.ipynb"), "the student's edits");
    write(path.join(lecture, "7.2-b.ipynb"), "lecture 7.2, rewritten");
    const now = new Date("2025-01-02T03:04:05.678Z");
    const report = prepareWorkingCopy(lecture, work, ["7.2"], now);
    const aside = path.join("old", "2025-01-02T03-04-05", "7.2-b.ipynb");
    assert.deepEqual(report, {
      copied: ["7.2-b.ipynb"],
      outdated: [],
      movedAside: { "7.2-b.ipynb": aside },
    });
    assert.equal(read(path.join(work, aside)), "the student's edits");
    assert.equal(read(path.join(work, "7.2-b.ipynb")), "lecture 7.2, rewritten");
    assert.deepEqual(prepareWorkingCopy(lecture, work).outdated, []);
    assert.deepEqual(selectFresh(["7.1-a.ipynb", "7.2-b.ipynb"], "all"), [
      "7.1-a.ipynb",
      "7.2-b.ipynb",
    ]);
    assert.throws(
      () => prepareWorkingCopy(lecture, work, ["7.9"]),
      /--fresh 7\.9: no lecture notebook is named so; give "all" or one of 7\.1, 7\.2/,
    );
  });

  it("npm run lab's copy step: from notebooks/, with a clear error on a bad --fresh", () => {
    const run = (...args: string[]) =>
      spawnSync(path.join(root, "node_modules", ".bin", "tsx"), ["tools/lab-copy.ts", ...args], {
        cwd: root,
        encoding: "utf8",
      });
    const ok = run(lecture, work);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(
      ok.stderr,
      /^lab: copied from notebooks\/ into .*: 7\.1-a\.ipynb, 7\.2-b\.ipynb$/m,
    );
    const bad = run(lecture, work, "--fresh", "8.1");
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^lab: --fresh 8\.1: no lecture notebook is named so/);
  });
});

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pruneSection, writeFiguresReadme } from "../tools/figures-readme";
import { sectionOf } from "../tools/run-notebooks";
import type { FigureEntry, Manifest } from "../lib/viz/manifest";

function entry(section: string, name: string, cell: number): FigureEntry {
  return {
    section,
    name,
    kind: "image",
    caption: `caption of ${name}`,
    slide: `slide of ${name}`,
    notebook: `${section}-x.ipynb`,
    cell,
    seed: 0,
    backend: "wasm",
    dataset: "mnist",
    quick: true,
    elapsedSeconds: cell,
    width: 10,
    height: 10,
    scale: 1,
    files: [{ path: `${section}/${name}.png`, sha256: "0".repeat(64), bytes: 1 }],
  };
}

describe("main job tools", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-tools-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads a notebook's section from its file name, and refuses names without one", () => {
    assert.equal(sectionOf("7.1-transposed-convolutions.ipynb"), "7.1");
    assert.equal(sectionOf("/a/b/7.2-deep-autoencoders.ipynb"), "7.2");
    assert.throws(() => sectionOf("scratch.ipynb"), /must start with its section/);
  });

  it("prunes one section's files and manifest entries and keeps the others", () => {
    const manifest: Manifest = {
      version: 1,
      figures: [entry("7.1", "a", 1), entry("7.2", "b", 2)],
      tables: [],
    };
    fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest));
    for (const s of ["7.1", "7.2"]) {
      fs.mkdirSync(path.join(dir, s));
      fs.writeFileSync(path.join(dir, s, "x.png"), "x");
    }
    pruneSection(dir, "7.1");
    const left = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Manifest;
    assert.deepEqual(
      left.figures.map((f) => f.name),
      ["b"],
    );
    assert.ok(!fs.existsSync(path.join(dir, "7.1")));
    assert.ok(fs.existsSync(path.join(dir, "7.2", "x.png")));
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes(".tmp")),
      [],
    );
  });

  it("writes a README with every figure in cell order, its caption, slide and image", () => {
    const manifest: Manifest = {
      version: 1,
      figures: [entry("7.2", "late", 9), entry("7.2", "early", 3), entry("7.1", "first", 1)],
      tables: [],
    };
    writeFiguresReadme(dir, manifest, { quick: false });
    const text = fs.readFileSync(path.join(dir, "README.md"), "utf8");
    for (const f of manifest.figures) {
      assert.ok(text.includes(`![${f.name}](${f.section}/${f.name}.png)`), f.name);
      assert.ok(text.includes(f.caption) && text.includes(`Lecture: ${f.slide}`), f.name);
    }
    assert.ok(text.indexOf("## 7.1") < text.indexOf("## 7.2"));
    assert.ok(text.indexOf("### early") < text.indexOf("### late"));
  });
});

import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describeHolder, readLockHolder, releaseLock, tryLock } from "../lib/lock-file";
import type { ClaimEntry, FigureEntry, Manifest } from "../lib/viz/manifest";
import { absolutePathVariables } from "../tools/env-paths";
import { publishSection } from "../tools/figures-publish";
import { writeFiguresReadme } from "../tools/figures-readme";
import { registerKernel } from "../tools/register-kernel";
import {
  MATHJAX_DEBIAN,
  addMathsNotice,
  nbconvertArgs,
  offlineMathJax,
  parseOptions,
  sectionOf,
  selectNotebooks,
  type Options,
} from "../tools/run-notebooks";
import { UsageError } from "../tools/cli";
import type { NotebookResult, RunSummary } from "../tools/run-summary";

const root = path.resolve(__dirname, "..");
const python = process.env.DLC_PYTHON ?? "/usr/bin/python3";

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

function claim(section: string, text: string, verdict: ClaimEntry["verdict"]): ClaimEntry {
  const where = { notebook: `${section}-x.ipynb`, cell: 4, seed: 0, backend: "wasm" };
  return {
    ...where,
    dataset: "mnist",
    quick: false,
    elapsedSeconds: 1,
    section,
    text,
    verdict,
    evidence: ["x = 1"],
  };
}

function result(notebook: string, extra: Partial<NotebookResult> = {}): NotebookResult {
  return {
    notebook,
    section: sectionOf(notebook),
    status: "ok",
    ok: true,
    seconds: 1.5,
    failedCell: null,
    message: null,
    figures: "this run",
    executed: `notebooks/${notebook}`,
    claims: { confirmed: 2, notConfirmed: 0, notChecked: 1 },
    ...extra,
  };
}

function summary(notebooks: NotebookResult[], status: RunSummary["status"]): RunSummary {
  return {
    version: 3,
    status,
    command: "npm run figures",
    quick: false,
    startedAt: "2026-01-02T03:04:05.000Z",
    finishedAt: "2026-01-02T04:04:05.000Z",
    notebooks,
  };
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value));
}

function hasJupyter(): boolean {
  return spawnSync(python, ["-c", "import nbconvert, nbformat"]).status === 0;
}

describe("main job tools", function () {
  this.timeout(120_000); // the tests that start Python or bash
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

  describe("arguments, parsed strictly", () => {
    const parse = (...argv: string[]): Options | "help" => parseOptions(argv, dir);

    it("reads the options, relative folders from the start folder", () => {
      const o = parse(
        "--quick",
        "--only",
        "7.2,7.1,7.2",
        "--out",
        "runs/a",
        "--cell-timeout",
        "90",
      );
      assert.deepEqual(o, {
        quick: true,
        only: ["7.2", "7.1"],
        out: path.join(dir, "runs", "a"),
        notebooksDir: path.join(root, "notebooks"),
        cellTimeout: 90,
      });
      assert.deepEqual(parse(), {
        quick: false,
        only: null,
        out: path.join(root, "build"),
        notebooksDir: path.join(root, "notebooks"),
        cellTimeout: null,
      });
      assert.equal(parse("-h"), "help");
    });

    it("DLC_QUICK=1 makes quick mode the default; --full still runs the lecture's", () => {
      const quick = (...argv: string[]): boolean =>
        (parseOptions(argv, dir, true) as Options).quick;
      assert.equal(quick(), true);
      assert.equal(quick("--quick"), true);
      assert.equal(quick("--full"), false);
    });

    it("refuses a missing value, an unknown option, a stray argument, with a message", () => {
      const cases: [string[], RegExp][] = [
        [["--out"], /^--out needs a value$/],
        [["--out", "--quick"], /^--out needs a value$/],
        [["--out="], /^--out needs a value$/],
        [["--only"], /^--only needs a value$/],
        [["--only", ""], /^--only needs a value$/],
        [["--only", "7.1,,7.2"], /empty section name/],
        [["--cell-timeout"], /^--cell-timeout needs a value$/],
        [["--cell-timeout", "0"], /whole number of seconds/],
        [["--cell-timeout", "1.5"], /whole number of seconds/],
        [["--cell-timeout", "1e3"], /whole number of seconds/],
        [["--frobnicate"], /^unknown option --frobnicate$/],
        [["--quick", "--full"], /exclude each other/],
        [["build"], /^unexpected argument build$/],
      ];
      for (const [argv, message] of cases) {
        assert.throws(
          () => parse(...argv),
          (e: unknown) => e instanceof UsageError && message.test(e.message),
          argv.join(" "),
        );
      }
    });

    it("never writes into the notebooks folder", () => {
      for (const out of [root, path.join(root, "notebooks"), path.join(root, "notebooks", "x")]) {
        assert.throws(
          () => parseOptions(["--out", out], dir),
          /would write into the notebooks folder/,
        );
      }
      assert.throws(
        () => parseOptions(["--notebooks", "notebooks", "--out", "."], dir),
        /would write into the notebooks folder/,
      );
      assert.equal((parseOptions(["--notebooks", "nb", "--out", "."], dir) as Options).out, dir);
    });

    it("refuses a section without a notebook, naming the ones there are", () => {
      for (const n of ["7.1-a.ipynb", "7.2-b.ipynb"]) fs.writeFileSync(path.join(dir, n), "{}");
      assert.deepEqual(selectNotebooks(dir, ["7.2"]), ["7.2-b.ipynb"]);
      assert.throws(
        () => selectNotebooks(dir, ["7.2", "9.9"]),
        (e: unknown) =>
          e instanceof UsageError && /section 9\.9 \(there are: 7\.1, 7\.2\)/.test(e.message),
      );
    });
  });

  it("makes relative paths in the environment absolute, from the start folder", () => {
    const env = {
      MNIST_DIR: "../data/mnist",
      DLC_CHECKPOINT_DIR: "ckpt",
      DLC_FIGURES_DIR: "/abs/figures",
      DLC_PYTHON: "python3",
      FASHION_MNIST_DIR: "",
      DLC_DATA_CACHE: "./cache",
      DLC_SEED: "3",
    };
    assert.deepEqual(absolutePathVariables(env, "/home/u/course/sub"), {
      MNIST_DIR: "/home/u/course/data/mnist",
      DLC_CHECKPOINT_DIR: "/home/u/course/sub/ckpt",
      DLC_DATA_CACHE: "/home/u/course/sub/cache",
    });
    assert.deepEqual(absolutePathVariables({ DLC_PYTHON: "venv/bin/python3" }, "/w"), {
      DLC_PYTHON: "/w/venv/bin/python3",
    });
  });

  it("a lock file names its holder and is released only by it", () => {
    const lock = path.join(dir, "x.lock");
    assert.ok(tryLock(lock, "a test"));
    assert.ok(!tryLock(lock, "a second taker"));
    const holder = readLockHolder(lock);
    assert.ok(holder !== null);
    assert.equal(describeHolder(holder), `pid ${process.pid} on ${os.hostname()} (a test)`);
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid + 1, host: os.hostname() }));
    releaseLock(lock);
    assert.ok(fs.existsSync(lock), "someone else's lock must stay");
  });

  it("publishes a section's staged figures over the previous ones, keeping the others", () => {
    const figures = path.join(dir, "figures");
    const staging = path.join(dir, "staging");
    const old: Manifest = {
      version: 1,
      figures: [entry("7.1", "gone", 1), entry("7.1", "a", 2), entry("7.2", "b", 2)],
      tables: [],
      claims: [claim("7.1", "old", "not confirmed"), claim("7.2", "kept", "confirmed")],
    };
    writeJson(path.join(figures, "manifest.json"), old);
    for (const [s, f] of [
      ["7.1", "gone.png"],
      ["7.1", "a.png"],
      ["7.2", "b.png"],
    ] as const) {
      fs.mkdirSync(path.join(figures, s), { recursive: true });
      fs.writeFileSync(path.join(figures, s, f), "old");
    }
    writeJson(path.join(staging, "manifest.json"), {
      version: 1,
      figures: [entry("7.1", "a", 5)],
      tables: [],
      claims: [claim("7.1", "new", "confirmed")],
    });
    fs.mkdirSync(path.join(staging, "7.1"));
    fs.writeFileSync(path.join(staging, "7.1", "a.png"), "new");

    const run = { notebook: "7.1-x.ipynb", finishedAt: "2026-01-01T00:00:00.000Z", quick: true };
    assert.deepEqual(publishSection(figures, staging, "7.1", run), ["7.1"]);
    const m = JSON.parse(fs.readFileSync(path.join(figures, "manifest.json"), "utf8")) as Manifest;
    assert.deepEqual(
      m.figures.map((f) => `${f.section}/${f.name}@${f.cell}`),
      ["7.1/a@5", "7.2/b@2"],
    );
    assert.deepEqual(
      (m.claims ?? []).map((c) => `${c.section}/${c.text}`),
      ["7.2/kept", "7.1/new"],
      "the section's claims replaced, the others kept",
    );
    assert.deepEqual(m.runs, { "7.1": run });
    assert.deepEqual(fs.readdirSync(path.join(figures, "7.1")), ["a.png"]);
    assert.equal(fs.readFileSync(path.join(figures, "7.1", "a.png"), "utf8"), "new");
    assert.equal(fs.readFileSync(path.join(figures, "7.2", "b.png"), "utf8"), "old");
    assert.deepEqual(fs.readdirSync(staging), ["manifest.json"]);
  });

  it("writes a README with the last run's outcome and every figure in cell order", () => {
    const manifest: Manifest = {
      version: 1,
      figures: [entry("7.2", "late", 9), entry("7.2", "early", 3), entry("7.1", "first", 1)],
      tables: [],
      claims: [claim("7.2", "the codes are Gaussian", "not confirmed")],
      runs: {
        "7.2": { notebook: "7.2-x.ipynb", finishedAt: "2025-12-31T10:00:00.000Z", quick: false },
      },
    };
    const last = summary(
      [
        result("7.1-x.ipynb"),
        result("7.2-x.ipynb", {
          status: "failed",
          ok: false,
          failedCell: 3,
          message: "Error: boom | bang",
          figures: "an earlier run",
          executed: "notebooks/7.2-x.failed.ipynb",
        }),
        result("7.3-x.ipynb", { status: "not run", ok: false, seconds: null, figures: "none" }),
      ],
      "failed",
    );
    writeFiguresReadme(dir, manifest, last);
    const text = fs.readFileSync(path.join(dir, "README.md"), "utf8");
    for (const f of manifest.figures) {
      assert.ok(text.includes(`![${f.name}](${f.section}/${f.name}.png)`), f.name);
      assert.ok(text.includes(f.caption) && text.includes(`Lecture: ${f.slide}`), f.name);
    }
    assert.ok(text.indexOf("## 7.1") < text.indexOf("## 7.2"));
    assert.ok(text.indexOf("### early") < text.indexOf("### late"));
    assert.match(text, /\*\*1 of 3 notebook\(s\) failed\*\*/);
    assert.match(
      text,
      /\| `7\.1-x\.ipynb` \| ok, 1\.5 s \| 2 confirmed, 1 not checked in quick mode \| this run \|/,
    );
    assert.ok(text.includes("- ✗ **not confirmed**: the codes are Gaussian (x = 1)"));
    assert.ok(text.indexOf("the codes are Gaussian") > text.indexOf("### late"), "under 7.2");
    assert.match(
      text,
      /\| `7\.2-x\.ipynb` \| \*\*failed in cell 3: Error: boom \\\| bang\*\* \| 2 confirmed, 1 not checked in quick mode \| the run of 2025-12-31 10:00:00 UTC \(full mode\), kept \|/,
    );
    assert.match(
      text,
      /\| `7\.3-x\.ipynb` \| \*\*not run \(the job stopped before it\)\*\* \| - \| no figures \|/,
    );
  });

  it("registers the TypeScript kernel only, removing tslab's JavaScript one", () => {
    fs.mkdirSync(path.join(dir, "kernels", "jslab"), { recursive: true });
    fs.writeFileSync(path.join(dir, "kernels", "jslab", "kernel.json"), "{}");
    registerKernel(dir, "/opt/x/tools/tslab-kernel.cjs", "/usr/bin/node");
    assert.deepEqual(fs.readdirSync(path.join(dir, "kernels")), ["tslab"]);
    const spec = JSON.parse(
      fs.readFileSync(path.join(dir, "kernels", "tslab", "kernel.json"), "utf8"),
    ) as { argv: string[]; language: string };
    assert.deepEqual(spec.argv, [
      "/usr/bin/node",
      "/opt/x/tools/tslab-kernel.cjs",
      "kernel",
      "--config-path",
      "{connection_file}",
    ]);
    assert.equal(spec.language, "typescript");
  });

  it("the project's Jupyter folder has the tslab kernel and no JavaScript kernel", function () {
    const data = path.join(root, "build", "jupyter", "share", "jupyter");
    if (!fs.existsSync(data) || !hasJupyter()) {
      console.log("      (skipped: run npm test, whose setup registers the kernel)");
      this.skip();
    }
    const list = spawnSync(python, ["-m", "jupyter", "kernelspec", "list", "--json"], {
      env: { ...process.env, JUPYTER_PATH: data, JUPYTER_DATA_DIR: dir },
      encoding: "utf8",
    });
    const specs = (
      JSON.parse(list.stdout) as { kernelspecs: Record<string, { resource_dir: string }> }
    ).kernelspecs;
    const ours = Object.entries(specs)
      .filter(([, s]) => s.resource_dir.startsWith(data))
      .map(([name]) => name);
    assert.deepEqual(ours, ["tslab"]);
  });

  it("exports HTML whose maths shows offline: MathJax copied beside it, or a notice at the top", function () {
    this.timeout(120_000);
    if (!hasJupyter()) {
      console.log("      (skipped: no nbconvert for " + python + ")");
      this.skip();
    }
    const exported = (folder: string, mathjax: string): string => {
      const nb = path.join(folder, "7.9-maths.ipynb");
      writeJson(nb, {
        cells: [{ cell_type: "markdown", metadata: {}, source: "The loss $\\|x - g(f(x))\\|^2$." }],
        metadata: {
          kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" },
        },
        nbformat: 4,
        nbformat_minor: 4,
      });
      const run = spawnSync(python, nbconvertArgs(nb, mathjax), { encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      const file = path.join(folder, "7.9-maths.html");
      addMathsNotice(file);
      addMathsNotice(file); // once only
      return file;
    };
    // No MathJax to copy (a conda install): the CDN, and the notice for when it cannot load.
    const online = path.join(dir, "online");
    fs.mkdirSync(online);
    const cdn = fs.readFileSync(
      exported(online, offlineMathJax(online, path.join(dir, "none"))),
      "utf8",
    );
    assert.doesNotMatch(cdn, /file:\/\/|\/usr\/share\//);
    assert.match(
      cdn,
      /<script[^>]+src="https:\/\/cdnjs\.cloudflare\.com\/ajax\/libs\/mathjax\/2\.7\.7\/MathJax\.js/,
    );
    assert.equal(cdn.split('id="dlc7-maths-notice"').length, 2, "one notice");
    assert.match(cdn, /<body[^>]*>\s*<div id="dlc7-maths-notice"/);
    assert.ok(!fs.existsSync(path.join(online, "mathjax")));
    if (!fs.existsSync(MATHJAX_DEBIAN)) {
      console.log(
        `      (offline part skipped: no ${MATHJAX_DEBIAN}; apt-get install libjs-mathjax)`,
      );
      return;
    }
    // With Debian's MathJax: a copy beside the page, referenced relatively.
    const offline = path.join(dir, "offline");
    fs.mkdirSync(offline);
    const file = exported(offline, offlineMathJax(offline));
    const html = fs.readFileSync(file, "utf8");
    assert.match(html, /<script[^>]+src="mathjax\/MathJax\.js\?config=TeX-AMS_CHTML-full,Safe"/);
    assert.doesNotMatch(html, /file:\/\/|\/usr\/share\//);
    assert.ok(fs.existsSync(path.join(offline, "mathjax", "config", "TeX-AMS_CHTML-full.js")));
    // In a browser with no network (every request to a dead proxy), the maths is typeset.
    if (!fs.existsSync("/usr/bin/chromium")) {
      console.log("      (browser part skipped: no /usr/bin/chromium)");
      return;
    }
    const offlineDom = (page: string): string =>
      spawnSync(
        "/usr/bin/chromium",
        [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--proxy-server=127.0.0.1:9",
          "--virtual-time-budget=20000",
          "--dump-dom",
          `file://${page}`,
        ],
        { encoding: "utf8", timeout: 90_000 },
      ).stdout;
    const typeset = offlineDom(file);
    assert.match(typeset, /class="mjx-chtml/);
    assert.doesNotMatch(typeset, /id="dlc7-maths-notice"/, "the notice went away");
    const raw = offlineDom(path.join(online, "7.9-maths.html"));
    assert.doesNotMatch(raw, /class="mjx-chtml/);
    assert.match(raw, /id="dlc7-maths-notice"/, "the notice stays when MathJax cannot load");
  });

  it("npm run lab sends interactive figures to build/lab/figures, not the main job's", function () {
    // A stand-in for Python that says Jupyter is there and prints what Jupyter would get.
    const fake = path.join(dir, "python");
    fs.writeFileSync(
      fake,
      '#!/bin/sh\n[ "$1" = -c ] && exit 0\necho "DLC_FIGURES_DIR=$DLC_FIGURES_DIR"\necho "ARGS=$*"\n',
      { mode: 0o755 },
    );
    if (!fs.existsSync(path.join(root, "build", "jupyter"))) {
      console.log("      (skipped: run npm test, whose setup registers the kernel)");
      this.skip();
    }
    const env: NodeJS.ProcessEnv = { ...process.env, DLC_PYTHON: fake };
    delete env.DLC_FIGURES_DIR;
    const lab = spawnSync("bash", [path.join(root, "tools", "lab.sh")], { env, encoding: "utf8" });
    assert.equal(lab.status, 0, lab.stderr);
    assert.match(lab.stdout, new RegExp(`^DLC_FIGURES_DIR=${root}/build/lab/figures$`, "m"));
    assert.match(lab.stdout, /^ARGS=-m jupyter lab --notebook-dir=\S+\/notebooks /m);
  });

  it("setup resolves relative paths from the folder the command was started in", function () {
    if (!fs.existsSync(path.join(root, "build", "jupyter")) || !hasJupyter()) {
      console.log("      (skipped: run npm test, whose setup installs what it needs)");
      this.skip();
    }
    const script = `source ${JSON.stringify(path.join(root, "tools", "setup.sh"))} && echo "MNIST_DIR=$MNIST_DIR" && pwd`;
    const env: NodeJS.ProcessEnv = { ...process.env, MNIST_DIR: "data/mnist" };
    delete env.INIT_CWD;
    const direct = spawnSync("bash", ["-c", script], { cwd: dir, env, encoding: "utf8" });
    assert.equal(direct.status, 0, direct.stderr);
    assert.match(direct.stdout, new RegExp(`^MNIST_DIR=${dir}/data/mnist\\n${root}\\n$`));
    // Through npm: the script runs in the package root, the user's folder is INIT_CWD.
    const viaNpm = spawnSync("bash", ["-c", script], {
      cwd: root,
      env: { ...env, INIT_CWD: dir },
      encoding: "utf8",
    });
    assert.match(viaNpm.stdout, new RegExp(`^MNIST_DIR=${dir}/data/mnist\\n`));
  });

  it("setup installs DejaVu Sans from apt when it is missing, and only that", function () {
    const fontDirs = [
      "/usr/share/fonts/truetype/dejavu",
      "/usr/share/fonts/TTF",
      "/usr/share/fonts/dejavu",
    ];
    const unshare = spawnSync("unshare", ["-m", "true"]);
    if (
      unshare.status !== 0 ||
      !fs.existsSync(path.join(root, "build", "jupyter")) ||
      !hasJupyter()
    ) {
      console.log(
        "      (skipped: needs root for a mount namespace, and Jupyter set up by npm test)",
      );
      this.skip();
    }
    // An apt-get that only says what it was asked.
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const calls = path.join(dir, "apt-calls");
    fs.writeFileSync(path.join(bin, "apt-get"), `#!/bin/sh\necho "$@" >> ${calls}\n`, {
      mode: 0o755,
    });
    // The fonts hidden from setup (not from this machine) by empty folders over theirs.
    const hide = fontDirs
      .filter((d) => fs.existsSync(d))
      .map((d) => `mount -t tmpfs tmpfs ${d}`)
      .join(" && ");
    const script = `${hide || "true"} && PATH=${bin}:$PATH && source ${JSON.stringify(path.join(root, "tools", "setup.sh"))} && echo "python=$DLC_PYTHON"`;
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.INIT_CWD;
    const run = spawnSync("unshare", ["-m", "bash", "-c", script], {
      cwd: root,
      env,
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^python=\S+$/m);
    assert.deepEqual(fs.readFileSync(calls, "utf8").split("\n"), [
      "update -qq",
      "install -y -qq fonts-dejavu-core",
      "",
    ]);
    assert.match(run.stderr, /^setup: installing from apt: fonts-dejavu-core$/m);
    // The fake installed nothing: said in one line, without stopping.
    assert.match(
      run.stderr,
      /^setup: DejaVu Sans is missing: charts will be drawn with other fonts/m,
    );
  });

  it("git ignores Jupyter's .ipynb_checkpoints folders", function () {
    const check = spawnSync(
      "git",
      ["check-ignore", "-q", "notebooks/.ipynb_checkpoints/7.1-x-checkpoint.ipynb"],
      { cwd: root },
    );
    if (check.status === 128) {
      console.log("      (skipped: not a git checkout)");
      this.skip();
    }
    assert.equal(check.status, 0);
  });

  it("environment.yml asks for JupyterLab 4 and says what it installs", () => {
    const text = fs.readFileSync(path.join(root, "environment.yml"), "utf8");
    assert.match(text, /^\s+- jupyterlab>=4\s*$/m);
    const header = text
      .split("\n")
      .filter((l) => l.startsWith("#"))
      .join("\n");
    assert.match(header, /JupyterLab 4/);
    assert.match(header, /nbclient/);
    assert.match(header, /Node/);
  });
});

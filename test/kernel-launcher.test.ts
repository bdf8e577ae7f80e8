/**
 * The kernel launcher's changes to tslab (lib/kernel/), outside Jupyter: interrupt
 * counters a synchronous loop can read, cell line numbers through both of tslab's
 * compilations, and the busy indicator through Run All. test/notebook-kernel.test.ts checks
 * them in a live kernel.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type CellMap, type TypeScriptModule, withSourceMaps } from "../lib/kernel/cell-lines";
import { type TslabServerClasses, trackExecutions } from "../lib/kernel/executions";

const root = path.resolve(__dirname, "..");

interface TypeScriptLike extends TypeScriptModule {
  ModuleKind: { CommonJS: number; ESNext: number };
  ScriptTarget: { ES2022: number };
}

const tslabTypeScript = (): TypeScriptLike => {
  const tslab = path.dirname(require.resolve("tslab/package.json", { paths: [root] }));
  return require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslab] }));
};

describe("kernel launcher (lib/kernel)", function () {
  this.timeout(60000);

  it("count a SIGINT to the process group while JavaScript runs synchronously", async () => {
    // A child in a process group of its own, as Jupyter starts a kernel: it busy-waits on the
    // counters, its SIGINT listener (tslab's) cannot run meanwhile.
    const script = `
      const { countInterrupts } = require("./lib/kernel/interrupts.ts");
      const counters = countInterrupts();
      process.on("SIGINT", () => console.log("listener ran"));
      setTimeout(() => {
        console.log("ready");
        const t0 = Date.now();
        while (Atomics.load(counters, 0) === 0 && Date.now() - t0 < 5000);
        console.log("seen", Atomics.load(counters, 0), "after", Date.now() - t0, "ms");
        setTimeout(() => {}, 300); // time for the listener
      }, 500);`;
    const child = spawn(process.execPath, ["--import", "tsx", "-e", script], {
      cwd: root,
      detached: true,
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (out === "ready\n") setTimeout(() => process.kill(-(child.pid as number), "SIGINT"), 200);
    });
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((done) => child.on("exit", done));
    assert.equal(code, 0, out);
    const seen = /^seen 1 after (\d+) ms$/m.exec(out);
    assert.ok(seen, out);
    // The signal came 200 ms after "ready"; the loop saw it within a few ms.
    assert.ok(Number(seen[1]) < 1000, out);
    assert.match(out, /listener ran/, "the main thread's listener still runs, after the loop");
    // The helper ends with the kernel: nothing is left in the group, once init reaped it.
    const alive = (): boolean => {
      try {
        process.kill(-(child.pid as number), 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(), false, "a process of the kernel's group outlived it");
  });

  it("start tslab from the compiled library, or as installed, saying why, without build/lib", () => {
    // tslab's --version: the launcher's changes made, then tslab's main() run and ended.
    const launch = (launcher: string) =>
      spawnSync(process.execPath, [launcher, "--version"], { encoding: "utf8", timeout: 60000 });
    const built = launch(path.join(root, "tools", "tslab-kernel.cjs"));
    assert.equal(built.status, 0, built.stderr);
    assert.match(built.stdout, /^tslab \d/);
    assert.equal(built.stderr, "", "every change made");
    // A checkout whose library is not built yet.
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-launcher-"));
    try {
      fs.mkdirSync(path.join(bare, "tools"));
      fs.copyFileSync(
        path.join(root, "tools", "tslab-kernel.cjs"),
        path.join(bare, "tools", "tslab-kernel.cjs"),
      );
      fs.symlinkSync(path.join(root, "node_modules"), path.join(bare, "node_modules"));
      const r = launch(path.join(bare, "tools", "tslab-kernel.cjs"));
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^tslab \d/);
      const missing = path.join(bare, "build", "lib", "kernel", "launcher.js");
      assert.equal(
        r.stderr,
        `kernel: ${missing} is missing: run npm run build, then restart the kernel; ` +
          "tslab runs without the project's changes\n",
      );
    } finally {
      fs.rmSync(bare, { recursive: true, force: true });
    }
  });

  it("map a cell's compiled lines back to the cell, leaving tslab's output unchanged", () => {
    const ts = tslabTypeScript();
    const cell = [
      "// a comment",
      "const x: number = 1;",
      "",
      "interface Foo { a: number }",
      "function f(n: number): number {",
      '  if (n > 2) throw new Error("line 6");',
      "  return f(n + 1);",
      "}",
      "f(x);",
    ].join("\n");
    // tslab's first compilation (a module: one line before the cell), with a map inline.
    const first = ts.transpileModule(`export {};\n${cell}\nexport { x, f }`, {
      fileName: "__tslab__.ts",
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        inlineSourceMap: true,
      },
    }).outputText;
    const second = {
      fileName: "custom.js",
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    };
    const maps: [string, CellMap][] = [];
    const wrapped = withSourceMaps(ts, (output, map) => maps.push([output, map]));
    const out = wrapped.transpileModule(first, second).outputText;
    const withoutMaps = first.replace(/\/\/# sourceMappingURL=.*\s*$/, "");
    assert.equal(out, ts.transpileModule(withoutMaps, second).outputText);
    assert.equal(maps.length, 1);
    const [output, map] = maps[0]!;
    assert.equal(output, out);
    const lines = out.split("\n");
    const at = (text: string): { line: number; column: number } => {
      const line = lines.findIndex((l) => l.includes(text));
      assert.ok(line >= 0, `${text} in ${out}`);
      return { line: line + 1, column: (lines[line] as string).indexOf(text) + 1 };
    };
    const throwAt = at("throw new Error");
    assert.notEqual(throwAt.line, 6, "the compiled code's lines differ from the cell's");
    assert.deepEqual(map(throwAt.line, throwAt.column), { line: 6, column: 14 });
    assert.equal(map(at("return f(").line, at("return f(").column)?.line, 7);
    assert.equal(map(at("f(x)").line, at("f(x)").column)?.line, 9);
    // Other files pass through as they are.
    assert.equal(wrapped.transpileModule("let a = 1;", second).outputText, "let a = 1;\n");
    assert.equal(maps.length, 1);
  });

  it("keep the kernel busy through Run All, each request with its busy and idle", async () => {
    const sent: string[] = [];
    const finish = new Map<string, (ok: boolean) => void>();
    class ZmqServer {
      async handleExecute(_sock: unknown, msg: { id: string; content: object }): Promise<void> {
        await new Promise<boolean>((done) => finish.set(msg.id, done));
      }
      publishStatus(status: string, parent: { id: string }): void {
        sent.push(`${status} ${parent.id}`);
      }
      // tslab's handleShellMessage, for the part that matters here.
      async handle(msg: {
        id: string;
        header: { msg_type: string };
        content: object;
      }): Promise<void> {
        this.publishStatus("busy", msg);
        try {
          if (msg.header.msg_type === "execute_request") await this.handleExecute(null, msg);
        } finally {
          this.publishStatus("idle", msg);
        }
      }
    }
    class JupyterHandlerImpl {
      execCount = 0;
      async handleExecuteImpl(): Promise<number> {
        return ++this.execCount;
      }
    }
    const counters = new Int32Array(new SharedArrayBuffer(12));
    // Its messages carry an id, to name them in `sent`.
    const jupyter = { ZmqServer, JupyterHandlerImpl } as unknown as TslabServerClasses;
    const cellCount = trackExecutions(jupyter, counters);
    const server = new ZmqServer();
    const msg = (id: string, type = "execute_request") => ({
      id,
      header: { msg_type: type },
      content: {},
    });
    const tick = () => new Promise((r) => setImmediate(r));
    // Run All: three cells at once; an interrupt came before (counted for earlier cells).
    Atomics.store(counters, 0, 2);
    const all = ["a", "b", "c"].map((id) => server.handle(msg(id)));
    await tick();
    assert.equal(Atomics.load(counters, 1), 2, "interrupts counted from the Run All on");
    await new JupyterHandlerImpl().handleExecuteImpl(); // tslab starts cell a
    assert.equal(cellCount(), 1);
    finish.get("a")!(true);
    await tick();
    // A completion request while b runs.
    await server.handle(msg("complete", "complete_request"));
    finish.get("b")!(false); // b fails: tslab aborts c at once
    finish.get("c")!(false);
    await Promise.all(all);
    assert.deepEqual(sent, [
      "busy a",
      "idle a",
      "busy b",
      "busy complete",
      "idle complete",
      "busy b",
      "idle b",
      "busy c",
      "idle c",
    ]);
  });
});

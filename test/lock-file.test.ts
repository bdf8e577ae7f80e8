/**
 * Lock files under load: a lock its holder has created but not yet written (empty, or
 * half-written) is a holder still starting, waited for, never reported as "pid ? on ?".
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { type LockHolder, acquireLock, describeHolder, processAlive } from "../lib/lock-file";

describe("lock files: a holder still writing its lock", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-lock-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** acquireLock on `lock`, with what it reported while waiting. */
  async function acquire(lock: string): Promise<{ waits: string[]; waited: boolean }> {
    const waits: string[] = [];
    const held = await acquireLock(lock, {
      what: "a test",
      staleMs: 60_000,
      refreshMs: 10_000,
      pollMs: 20,
      onWait: (holder: LockHolder) => waits.push(describeHolder(holder)),
      onTakeOver: (holder, why) => waits.push(`took over ${describeHolder(holder)}: ${why}`),
    });
    held.release();
    return { waits, waited: held.waited };
  }

  for (const [state, content] of [
    ["an empty", ""],
    ["a half-written", '{"pid": 12'],
  ] as const) {
    it(`${state} lock is waited for, and its holder named once it has written it`, async () => {
      const lock = path.join(dir, "x.lock");
      fs.writeFileSync(lock, content);
      // A live process of this machine, as the lock's holder.
      const holder = { pid: process.ppid, host: os.hostname(), what: "training x" };
      const written = setTimeout(() => fs.writeFileSync(lock, JSON.stringify(holder)), 300);
      const released = setTimeout(() => fs.rmSync(lock), 600);
      try {
        const { waits, waited } = await acquire(lock);
        assert.deepEqual(waits, [`pid ${holder.pid} on ${holder.host} (training x)`]);
        assert.equal(waited, true);
      } finally {
        clearTimeout(written);
        clearTimeout(released);
      }
    });
  }

  it("a lock left empty for seconds is waited for, its holder named as unknown", async () => {
    const lock = path.join(dir, "x.lock");
    fs.writeFileSync(lock, "");
    const then = new Date(Date.now() - 10_000);
    fs.utimesSync(lock, then, then);
    const released = setTimeout(() => fs.rmSync(lock), 300);
    try {
      const { waits } = await acquire(lock);
      assert.deepEqual(waits, ["an unknown process (its lock file is empty or unreadable)"]);
    } finally {
      clearTimeout(released);
    }
  });

  it("a holder that released its lock before writing it was still waited for", async () => {
    const lock = path.join(dir, "x.lock");
    fs.writeFileSync(lock, "");
    const released = setTimeout(() => fs.rmSync(lock), 200);
    try {
      assert.deepEqual(await acquire(lock), { waits: [], waited: true });
    } finally {
      clearTimeout(released);
    }
  });
});

describe("lock files: a holder that has ended", () => {
  it("an ended process its parent has not reaped yet (a zombie) is not alive", async function () {
    if (!fs.existsSync("/proc/self/stat")) this.skip();
    // sh starts a short sleep, then becomes a long one, which never reaps it.
    const parent = spawn("sh", ["-c", "sleep 0.1 & echo $!; exec sleep 5"]);
    const pid = await new Promise<number>((resolve) =>
      parent.stdout.once("data", (b: Buffer) => resolve(Number(b.toString().trim()))),
    );
    try {
      assert.equal(processAlive(pid), true, "still sleeping");
      await new Promise((r) => setTimeout(r, 500));
      assert.match(fs.readFileSync(`/proc/${pid}/stat`, "utf8"), /\) Z /, "a zombie now");
      assert.equal(processAlive(pid), false);
      assert.equal(processAlive(parent.pid ?? 0), true);
    } finally {
      parent.kill();
    }
  });
});

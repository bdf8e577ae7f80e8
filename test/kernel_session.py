"""Drives one tslab kernel through jupyter_client as a notebook front end would, for the
message-level tests (test/notebook-kernel.test.ts).

    python3 test/kernel_session.py STEPS.json RESULT.json

STEPS.json: {"cwd": folder the kernel runs in, "steps": [...]}, each step one of
  {"code": "...", "interrupt_after": seconds?, "timeout": seconds?}  execute a cell; with
      interrupt_after, interrupt the kernel (SIGINT, as Jupyter's Interrupt button) then
  {"notebook": path, "cells": [indices] | "all", "timeout": seconds?}  execute code cells of
      a notebook (indices of nb.cells), in the order given
  {"run_all": [{"code", "label"?}, ...], "interrupt_when": text?, "interrupt_delay": seconds?,
      "interrupt_after": seconds?, "timeout": seconds?}  send every cell at once, as Run All
      does; interrupt the kernel interrupt_delay seconds (default 0) after a cell printed the
      text interrupt_when (what a cell prints before it awaits: a cell running synchronously
      sends its output when it ends), or interrupt_after seconds after sending
  {"sleep": seconds}  wait, collecting whatever the kernel still sends
RESULT.json: one record per executed cell: {"label", "status" ("ok" | "error" | "abort" |
"timeout" | "kernel died"),
"stdout", "stderr", "displays" (the last text/plain of each display, by display id or
order), "seconds", "late" (messages of this cell that came after its idle status),
"statuses" ([n, state, t] of its status messages, n counting every status message of the
session, t seconds since the session began), "replied_at" (the same seconds, when its reply
came), "interrupted_at" (seconds after the cell was sent, when this cell was interrupted)}.
"""
import json
import queue
import sys
import tempfile
import time

import nbformat
from jupyter_client.manager import KernelManager


def main():
    spec = json.load(open(sys.argv[1]))
    km = KernelManager(kernel_name="tslab")
    # The kernel's own stderr (a crash's last words), shown when it dies.
    kernel_log = tempfile.TemporaryFile(mode="w+")
    km.start_kernel(cwd=spec["cwd"], stderr=kernel_log)
    kc = km.client()
    kc.start_channels()
    results = []
    by_id = {}
    statuses = [0]  # status messages seen so far
    session_start = time.time()
    try:
        kc.wait_for_ready(timeout=180)

        def on_iopub(m):
            """Files a message under the cell that sent it; returns it."""
            r = by_id.get(m["parent_header"].get("msg_id"))
            if r is None:
                if m["msg_type"] == "status":
                    statuses[0] += 1
                return m
            t, c = m["msg_type"], m["content"]
            if r["idle"] and t != "status":
                r["late"].append({"type": t, "content": c})
            if t == "stream":
                r[c["name"]] += c["text"]
            elif t in ("display_data", "update_display_data"):
                key = (c.get("transient") or {}).get("display_id") or f"#{len(r['displays'])}"
                r["displays"][key] = c["data"].get("text/plain", "")
            elif t == "error":
                r["stderr"] += "\n".join(c.get("traceback") or [c.get("evalue", "")])
            elif t == "status":
                statuses[0] += 1
                r["statuses"].append([statuses[0], c["execution_state"],
                                      round(time.time() - session_start, 3)])
                if c["execution_state"] == "idle":
                    r["idle"] = True
            return m

        def drain(seconds):
            end = time.time() + seconds
            while time.time() < end:
                try:
                    on_iopub(kc.get_iopub_msg(timeout=0.1))
                except queue.Empty:
                    pass

        def execute(label, code, timeout=600, interrupt_after=None):
            return run([(label, code)], timeout, interrupt_after=interrupt_after)[0]

        def run(cells, timeout, interrupt_after=None, interrupt_when=None, interrupt_delay=0):
            """Sends the cells at once; waits until each was answered and went idle."""
            t0 = time.time()
            batch = []
            for label, code in cells:
                msg_id = kc.execute(code)
                r = {"label": label, "status": None, "stdout": "", "stderr": "", "displays": {},
                     "late": [], "statuses": [], "idle": False, "seconds": None,
                     "interrupted_at": None, "replied_at": None}
                by_id[msg_id] = r
                results.append(r)
                batch.append((msg_id, r))
            interrupt_at = t0 + interrupt_after if interrupt_after is not None else None
            interrupted = False
            while time.time() - t0 < timeout:
                if interrupt_at is None and interrupt_when is not None:
                    if any(interrupt_when in r["stdout"] for _, r in batch):
                        interrupt_at = time.time() + interrupt_delay
                if interrupt_at is not None and not interrupted and time.time() >= interrupt_at:
                    km.interrupt_kernel()
                    interrupted = True
                    for _, r in batch:
                        if r["status"] is None:
                            r["interrupted_at"] = round(time.time() - t0, 3)
                            break
                try:
                    on_iopub(kc.get_iopub_msg(timeout=0.05))
                except queue.Empty:
                    pass
                try:
                    reply = kc.get_shell_msg(timeout=0.01)
                    r = by_id.get(reply["parent_header"].get("msg_id"))
                    if r is not None and r["status"] is None:
                        r["status"] = reply["content"]["status"]
                        r["seconds"] = round(time.time() - t0, 3)
                        r["replied_at"] = round(time.time() - session_start, 3)
                except queue.Empty:
                    pass
                if all(r["status"] is not None and r["idle"] for _, r in batch):
                    break
                if not km.is_alive():
                    code = km.provisioner.process.poll() if km.provisioner else None
                    for _, r in batch:
                        if r["status"] is None:
                            r["status"] = "kernel died"
                            kernel_log.seek(0)
                            last = kernel_log.read()[-3000:]
                            r["stderr"] += f"(the kernel process ended: exit status {code})\n{last}"
                    break
            for _, r in batch:
                if r["status"] is None:
                    r["status"] = "timeout"
                if r["seconds"] is None:
                    r["seconds"] = round(time.time() - t0, 3)
                print(f"{r['label']}: {r['status']} in {r['seconds']} s", file=sys.stderr,
                      flush=True)
            return [r for _, r in batch]

        for step in spec["steps"]:
            if "sleep" in step:
                drain(step["sleep"])
            elif "code" in step:
                execute(step.get("label", "cell"), step["code"], step.get("timeout", 600),
                        step.get("interrupt_after"))
            elif "run_all" in step:
                cells = [(c.get("label", f"cell {i}"), c["code"])
                         for i, c in enumerate(step["run_all"])]
                run(cells, step.get("timeout", 900), interrupt_after=step.get("interrupt_after"),
                    interrupt_when=step.get("interrupt_when"),
                    interrupt_delay=step.get("interrupt_delay", 0))
            else:
                nb = nbformat.read(step["notebook"], as_version=4)
                cells = step["cells"]
                if cells == "all":
                    cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
                for i in cells:
                    cell = nb.cells[i]
                    assert cell.cell_type == "code", f"cell {i} of {step['notebook']} is not code"
                    r = execute(f"{step['notebook'].split('/')[-1]}[{i}]", cell.source,
                                step.get("timeout", 900))
                    if r["status"] != "ok" and step.get("stop_on_error", True):
                        break
        drain(0.5)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    for r in results:
        del r["idle"]
    with open(sys.argv[2], "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

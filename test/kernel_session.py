"""Drives one tslab kernel through jupyter_client as a notebook front end would, for the
message-level tests (test/notebook-kernel.test.ts).

    python3 test/kernel_session.py STEPS.json RESULT.json

STEPS.json: {"cwd": folder the kernel runs in, "steps": [...]}, each step one of
  {"code": "...", "interrupt_after": seconds?, "timeout": seconds?}  execute a cell; with
      interrupt_after, interrupt the kernel (SIGINT, as Jupyter's Interrupt button) then
  {"notebook": path, "cells": [indices] | "all", "timeout": seconds?}  execute code cells of
      a notebook (indices of nb.cells), in the order given
  {"sleep": seconds}  wait, collecting whatever the kernel still sends
RESULT.json: one record per executed cell: {"label", "status" ("ok" | "error" | "abort" |
"timeout" | "kernel died"),
"stdout", "stderr", "displays" (the last text/plain of each display, by display id or
order), "seconds", "late" (messages of this cell that came after its idle status)}.
"""
import json
import queue
import sys
import time

import nbformat
from jupyter_client.manager import KernelManager


def main():
    spec = json.load(open(sys.argv[1]))
    km = KernelManager(kernel_name="tslab")
    km.start_kernel(cwd=spec["cwd"])
    kc = km.client()
    kc.start_channels()
    results = []
    by_id = {}
    try:
        kc.wait_for_ready(timeout=180)

        def on_iopub(m):
            """Files a message under the cell that sent it; returns it."""
            r = by_id.get(m["parent_header"].get("msg_id"))
            if r is None:
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
            elif t == "status" and c["execution_state"] == "idle":
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
            t0 = time.time()
            msg_id = kc.execute(code)
            r = {"label": label, "status": None, "stdout": "", "stderr": "", "displays": {},
                 "late": [], "idle": False, "seconds": None}
            by_id[msg_id] = r
            results.append(r)
            interrupted = False
            while time.time() - t0 < timeout:
                if interrupt_after is not None and not interrupted and time.time() - t0 > interrupt_after:
                    km.interrupt_kernel()
                    interrupted = True
                try:
                    on_iopub(kc.get_iopub_msg(timeout=0.05))
                except queue.Empty:
                    pass
                try:
                    reply = kc.get_shell_msg(timeout=0.01)
                    if reply["parent_header"].get("msg_id") == msg_id:
                        r["status"] = reply["content"]["status"]
                except queue.Empty:
                    pass
                if r["status"] is not None and r["idle"]:
                    break
                if not km.is_alive():
                    code = km.provisioner.process.poll() if km.provisioner else None
                    r["status"] = "kernel died"
                    r["stderr"] += f"(the kernel process ended: exit status {code})"
                    break
            if r["status"] is None:
                r["status"] = "timeout"
            r["seconds"] = round(time.time() - t0, 2)
            print(f"{label}: {r['status']} in {r['seconds']} s", file=sys.stderr, flush=True)
            return r

        for step in spec["steps"]:
            if "sleep" in step:
                drain(step["sleep"])
            elif "code" in step:
                execute(step.get("label", "cell"), step["code"], step.get("timeout", 600),
                        step.get("interrupt_after"))
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

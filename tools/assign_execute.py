"""Execute one notebook under the tslab kernel for `npm run assign` / `npm run grade`.

Unlike tools/execute_notebook.py (the main job, which stops at the first failing cell),
every code cell runs whatever happened before, since a student's broken answer must not
hide the tests of the next question. A cell running longer than --cell-timeout is
interrupted. Events go to stdout as JSON lines, one per cell as it ends, so that the
caller keeps what ran even when it has to kill this process at the notebook's time limit:

  {"event": "kernel", "seconds": 1.2, "pgid": 1234}
  {"event": "start", "cell": 3}
  {"event": "done", "cell": 3, "status": "ok" | "error" | "timeout", "seconds": 0.4,
   "text": "everything the cell printed", "error": "the kernel's error, if any"}
  {"event": "dead", "cell": 5}     (the kernel died: out of memory, process.exit, ...)

The notebook comes on stdin with "-" (the grader's: it holds the hidden tests, and the
sandbox's files are the submission's to read). The kernel dies with this process, which the
kernel cannot read (kernel_process.py), and gets the soft memory limit raised to the hard one.
"""
import argparse
import json
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from kernel_process import hide_memory, kernel_preexec

# What a cell may print before the rest is dropped (a student's print loop must not
# exhaust the grader's memory).
MAX_TEXT = 200_000


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def cell_text(cell):
    parts = []
    for o in cell.get("outputs", []):
        kind = o.get("output_type")
        if kind == "stream":
            parts.append(o.get("text", ""))
        elif kind in ("display_data", "execute_result"):
            text = o.get("data", {}).get("text/plain")
            if text:
                parts.append(text if text.endswith("\n") else text + "\n")
        elif kind == "error":
            parts.append(f"{o.get('ename')}: {o.get('evalue')}\n")
    text = "".join(parts)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"\n[... {len(text) - MAX_TEXT} more characters dropped]\n"
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook", help='the notebook file, or "-" to read it from stdin')
    ap.add_argument("--cwd", required=True, help="the kernel's working folder")
    ap.add_argument("--cell-timeout", type=int, required=True, help="seconds per cell")
    args = ap.parse_args()

    hide_memory()
    nb = nbformat.read(sys.stdin if args.notebook == "-" else args.notebook, as_version=4)
    started = {}
    current = [None]

    def on_cell_start(cell, cell_index, **_):
        if cell.cell_type == "code":
            current[0] = cell_index
            started[cell_index] = time.time()
            emit({"event": "start", "cell": cell_index})

    def on_cell_executed(cell, cell_index, execute_reply, **_):
        content = (execute_reply or {}).get("content", {})
        status = content.get("status", "ok")
        if content.get("ename") == "CellTimeout":
            status = "timeout"
        text = cell_text(cell)
        error = ""
        if status == "error":
            # tslab prints a failing cell's error on stderr, not as an error output.
            error = "\n".join(
                o.get("text", "")
                for o in cell.get("outputs", [])
                if o.get("output_type") == "stream" and o.get("name") == "stderr"
            )
        emit(
            {
                "event": "done",
                "cell": cell_index,
                "status": status,
                "seconds": round(time.time() - started.get(cell_index, time.time()), 3),
                "text": text,
                "error": error[:4000],
            }
        )

    def on_cell_error(**_):
        # tslab drops the requests that arrive within 200 ms of a failed cell
        # (execQueue.reset(200)): wait before sending the next one.
        time.sleep(0.3)

    client = NotebookClient(
        nb,
        kernel_name="tslab",
        timeout=args.cell_timeout,
        startup_timeout=60,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={
            "ename": "CellTimeout",
            "evalue": f"the cell ran longer than {args.cell_timeout:g} s and was interrupted",
        },
        resources={"metadata": {"path": args.cwd}},
        on_notebook_start=lambda **_: emit(
            {
                "event": "kernel",
                "seconds": round(time.time() - t0, 3),
                # The kernel runs in a session of its own: the caller kills this group too.
                "pgid": getattr(client.km.provisioner, "pgid", None),
            }
        ),
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
        on_cell_error=on_cell_error,
    )
    t0 = time.time()
    try:
        client.execute(preexec_fn=kernel_preexec(raise_data_limit=True))
    except DeadKernelError:
        emit({"event": "dead", "cell": current[0]})
        return 2
    emit({"event": "end", "seconds": round(time.time() - t0, 3)})
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Execute one notebook under the tslab kernel, cell by cell (used by tools/run-notebooks.ts).

Prints one line per code cell and writes the executed notebook even when a cell fails (so
what ran stays inspectable). No cell has a time limit unless --cell-timeout is given: a
training cell may legitimately run for hours on a slow machine. Before each cell it rewrites
the run-state file that lib/viz reads to label figures.

The outcome goes to --result as JSON: {"status": "ok" | "failed" | "timeout" | "kernel died" |
"interrupted", "cell", "codeCell", "codeCells", "source", "message", "kernel": {"pid",
"exitCode", "signal", "stderrTail"}}. Exit status: 0 ok, 1 failed, 128 + signal interrupted.

The kernel runs in its own session (jupyter_client starts it so), so a Ctrl-C in the
terminal does not reach it: on SIGINT or SIGTERM this script kills the kernel's process
group itself, and the main job kills it too if this script dies first ("kernel pid N" line).
Should both die at once (kill -9 of the job's process group), Linux sends the kernel SIGKILL
(PR_SET_PDEATHSIG, tools/kernel_process.py); this script gets SIGTERM when the main job
(--parent) dies, and stops the kernel as for a Ctrl-C.
"""
import argparse
import asyncio
import collections
import json
import os
import re
import signal
import sys
import threading
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from kernel_process import die_with_parent, kernel_preexec

STDERR_LINES = 20


def write_json_atomic(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


class KernelStderr:
    """The kernel process's stderr, echoed with the tag and its last lines kept for reports."""

    def __init__(self, tag):
        self.tag = tag
        self.read_fd, self.write_fd = os.pipe()
        self.lines = collections.deque(maxlen=STDERR_LINES)
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self):
        with os.fdopen(self.read_fd, "r", encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.strip() == "":
                    continue
                self.lines.append(line)
                print(f"{self.tag} kernel stderr: {line}", flush=True)

    def close_writer(self):
        """Our copy of the pipe's write end: closed once the kernel holds its own."""
        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None

    def tail(self):
        self.close_writer()
        self.thread.join(timeout=2)
        return list(self.lines)


def signal_name(signum):
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def kill_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_kernel(proc, grace=3.0):
    """Ends the kernel's process group: SIGTERM, then SIGKILL after `grace` seconds."""
    if proc is None or proc.poll() is not None:
        return
    kill_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except Exception:
        kill_group(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=grace)
        except Exception:
            pass


def describe_exit(proc):
    """(exit code, signal name) of the kernel process, waiting briefly for it to end."""
    if proc is None:
        return None, None
    try:
        code = proc.wait(timeout=5)
    except Exception:
        return None, None
    if code < 0:
        return None, signal_name(-code)
    return code, None


ERROR_LINE = re.compile(r"^[A-Z][A-Za-z]*(Error|Exception)\b.*: |^Error: ")


def error_line(cell, failure):
    """The one line that says what went wrong (tslab sends errors as a stderr stream)."""
    lines = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            lines += o.get("traceback", []) or [f"{o.get('ename')}: {o.get('evalue')}"]
        elif o.get("output_type") == "stream" and o.get("name") == "stderr":
            lines += o.get("text", "").splitlines()
    for line in lines:
        if ERROR_LINE.match(line.strip()):
            return line.strip()
    lines = [line.strip() for line in lines if line.strip()]
    return lines[0] if lines else str(failure).strip().splitlines()[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("output")
    ap.add_argument("--run-state", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--cwd", required=True)
    ap.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell")
    ap.add_argument("--tag", default="")
    ap.add_argument("--parent", type=int, default=None, help="the main job's pid")
    args = ap.parse_args()
    tag = args.tag

    nb = nbformat.read(args.notebook, as_version=4)
    name = os.path.basename(args.notebook)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    started = time.time()
    state = {"cell": None, "cell_started": started, "kernel": None, "signal": None}
    stderr = KernelStderr(tag)

    def on_signal(signum, *_):
        if state["signal"] is None:
            state["signal"] = signum
            print(f"{tag} {signal_name(signum)}: stopping the kernel", flush=True)
        stop_kernel(state["kernel"], grace=1.0)
        if state["kernel"] is None:
            raise KeyboardInterrupt

    # Until nbclient installs its own handlers (and after it removes them).
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    die_with_parent(args.parent, signal.SIGTERM)

    def on_notebook_start(**_):
        proc = client.km.provisioner.process
        state["kernel"] = proc
        stderr.close_writer()
        print(f"{tag} kernel pid {proc.pid}", flush=True)
        loop = asyncio.get_event_loop()
        for s in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(s, on_signal, s)

    def on_cell_start(cell, cell_index, **_):
        state["cell_started"] = time.time()
        state["cell"] = cell_index
        write_json_atomic(
            args.run_state,
            {"notebook": name, "cell": cell_index, "startedAt": int(started * 1000)},
        )

    def on_cell_complete(cell, cell_index, **_):
        if cell.cell_type != "code":
            return
        k = code_cells.index(cell_index) + 1
        dt = time.time() - state["cell_started"]
        print(f"{tag} cell {cell_index} ({k}/{len(code_cells)} code) {dt:.1f}s", flush=True)

    client = NotebookClient(
        nb,
        timeout=args.cell_timeout,
        kernel_name="tslab",
        shutdown_kernel="immediate",
        resources={"metadata": {"path": args.cwd}},
        on_notebook_start=on_notebook_start,
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_complete,
    )
    failure = None
    try:
        client.execute(stderr=stderr.write_fd, preexec_fn=kernel_preexec())
    except KeyboardInterrupt:
        failure = "interrupted"
    except CellTimeoutError as e:
        failure = e
    except CellExecutionError as e:
        failure = e
    except Exception as e:  # kernel death, or a signal that killed it
        failure = e
    # nbclient restores the default handlers: a later signal must not cut the report short.
    def remember(signum, *_):
        state["signal"] = state["signal"] or signum

    signal.signal(signal.SIGTERM, remember)
    signal.signal(signal.SIGINT, remember)
    stop_kernel(state["kernel"])
    nbformat.write(nb, args.output)

    result = report(nb, name, code_cells, state, stderr, failure, args.cell_timeout, tag)
    write_json_atomic(args.result, result)
    if result["status"] == "ok":
        return 0
    if result["status"] == "interrupted":
        return 128 + (state["signal"] or signal.SIGINT)
    return 1


def report(nb, name, code_cells, state, stderr, failure, timeout, tag):
    """Prints what happened and returns the result record."""
    cell = state["cell"]
    exit_code, sig = describe_exit(state["kernel"])
    tail = stderr.tail()
    result = {
        "status": "ok",
        "cell": cell,
        "codeCell": code_cells.index(cell) + 1 if cell in code_cells else None,
        "codeCells": len(code_cells),
        "source": nb.cells[cell].source if cell is not None else None,
        "message": None,
        "kernel": {
            "pid": state["kernel"].pid if state["kernel"] is not None else None,
            "exitCode": exit_code,
            "signal": sig,
            "stderrTail": tail,
        },
    }
    if failure is None and state["signal"] is None:
        return result
    where = f"cell {cell}" if cell is not None else "kernel start"

    if state["signal"] is not None or failure == "interrupted":
        how = signal_name(state["signal"]) if state["signal"] is not None else "SIGINT"
        result["status"] = "interrupted"
        result["message"] = f"interrupted by {how} during {where}; the kernel was stopped"
    elif isinstance(failure, CellTimeoutError):
        result["status"] = "timeout"
        result["message"] = (
            f"cell {cell} exceeded {timeout} s (--cell-timeout {timeout}); "
            f"the kernel was stopped. Run without --cell-timeout to let it finish"
        )
    elif isinstance(failure, CellExecutionError):
        result["status"] = "failed"
        result["message"] = error_line(nb.cells[cell], failure)
    else:
        # The kernel process ended (or stopped answering) while a cell ran.
        result["status"] = "kernel died"
        if sig is not None:
            cause = f"killed by {sig}"
            if sig == "SIGKILL":
                cause += " (often the system's out-of-memory killer: see `dmesg`)"
        elif exit_code is not None:
            cause = f"exit code {exit_code}"
        else:
            cause = f"stopped answering ({type(failure).__name__}: {failure})"
        result["message"] = f"the kernel died during {where}: {cause}"

    label = "INTERRUPTED" if result["status"] == "interrupted" else "FAILED"
    print(f"{tag} {label} in {where} of {name}: {result['message']}", flush=True)
    if cell is not None:
        print(f"{tag} ----- source of cell {cell} -----", flush=True)
        for line in nb.cells[cell].source.splitlines():
            print(f"{tag} | {line}", flush=True)
    if result["status"] == "failed":
        print(f"{tag} ----- error -----", flush=True)
        for o in nb.cells[cell].get("outputs", []):
            if o.get("output_type") == "error":
                for line in o.get("traceback", []) or [f"{o.get('ename')}: {o.get('evalue')}"]:
                    print(f"{tag} {line}", flush=True)
            elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                for line in o.get("text", "").splitlines():
                    print(f"{tag} {line}", flush=True)
    if result["status"] == "kernel died" and tail:
        print(f"{tag} ----- last lines the kernel wrote to stderr -----", flush=True)
        for line in tail:
            print(f"{tag} {line}", flush=True)
    return result


if __name__ == "__main__":
    sys.exit(main())

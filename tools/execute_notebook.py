"""The notebook executor: runs a notebook under the tslab kernel, cell by cell, for the main job
and its tests (tools/run-notebooks.ts) and the grader (tools/assign-run.ts), both through
tools/notebook-runner.ts (--help lists the options). One policy for every caller:
- a cell that runs longer than --cell-timeout (no limit without it: a training may take
  hours) is interrupted, as Jupyter's Interrupt does, and recorded as "timeout";
- a cell that failed or timed out ends the run, unless --keep-going (the grader: a student's
  broken answer must not hide the next question's tests);
- SIGINT or SIGTERM stops the kernel's process group and ends the run "interrupted";
- a kernel that dies ends the run "kernel died", said with its exit code or signal.
Events go to stdout as JSON lines as they happen, so that a caller that kills this process
(the grader's time limit) keeps what ran:
  {"event": "kernel", "pid": 1234, "codeCells": [0, 2]}      (its process group is its pid)
  {"event": "start", "cell": 2}
  {"event": "stderr", "text": "a line the kernel wrote on its stderr (or stdout)"}
  {"event": "cell", "cell": 2, "status": "ok" | "error" | "timeout", "seconds": 0.4,
   "text": "what it printed", "error": "its stderr and errors (tslab's errors go there)"}
  {"event": "end", "status": "completed" | "failed" | "timeout" | "kernel died" |
   "interrupted", "cell": 2 | null, "message": "one line", "source": "the cell's"}
Before each cell, the file DLC_RUN_STATE names gets it (lib/viz's figure labels).

Guards (Linux prctl): the kernel runs in a session of its own, which a Ctrl-C or a kill of
this process's group does not reach: it gets SIGKILL when this process ends, and this process
SIGTERM when --parent does. The kernel cannot read this process's memory (the grader's holds
the hidden tests, which come on stdin), and gets the hard RLIMIT_DATA as its soft one (the
grader gives this process a small soft limit, the kernel the rest).
"""
import argparse
import asyncio
import ctypes
import json
import os
import re
import resource
import signal
import sys
import threading
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

# What a cell's record carries at most: a student's print loop must not exhaust our memory.
MAX_TEXT, MAX_ERROR = 200_000, 4_000
ERROR_LINE = re.compile(r"^[A-Z][A-Za-z]*(Error|Exception)\b.*: |^Error: ")
TIMEOUT = "CellTimeout"
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
_libc = ctypes.CDLL(None, use_errno=True)
_stdout = threading.Lock()


def prctl(option, value):
    if _libc.prctl(option, int(value), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def emit(event, **fields):
    line = json.dumps({"event": event, **fields})
    with _stdout:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def kernel_preexec():
    """Run in the kernel before it starts. PR_SET_PDEATHSIG follows the thread that forks:
    nbclient forks from the main thread, which lives as long as this process."""
    parent = os.getpid()

    def preexec():
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))

    return preexec


def relay_stderr(fd):
    """What the kernel writes outside the notebook, as events, in pieces of at most 4,096
    characters."""
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as f:
        for line in iter(lambda: f.readline(4096), ""):
            if line.strip():
                emit("stderr", text=line.rstrip("\n"))


def stop_kernel(proc, grace):
    """SIGTERM to the kernel's process group (its helpers too), SIGKILL after `grace` s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=grace)
            return
        except (ProcessLookupError, PermissionError):
            return
        except Exception:  # still running after the grace
            pass


def cell_text(cell, stderr_only):
    """What the cell printed (streams, plain-text displays, errors), or its stderr and errors."""
    parts = []
    for o in cell.get("outputs", []):
        kind = o.get("output_type")
        if kind == "stream" and (not stderr_only or o.get("name") == "stderr"):
            parts.append(o.get("text", ""))
        elif kind in ("display_data", "execute_result") and not stderr_only:
            text = o.get("data", {}).get("text/plain", "")
            parts.append(text if text.endswith("\n") or not text else text + "\n")
        elif kind == "error":
            parts.append(f"{o.get('ename')}: {o.get('evalue')}\n")
    text, limit = "".join(parts), MAX_ERROR if stderr_only else MAX_TEXT
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters dropped]\n"


def ending(state, failure, cell_timeout, nb):
    """How the run ended: its status, the cell at fault (or the last started) and one line."""
    cell, kernel = state["cell"], state["kernel"]
    where = "kernel start" if cell is None else f"cell {cell}"
    if state["signal"] is not None:
        how = signal.Signals(state["signal"]).name
        return "interrupted", cell, f"interrupted by {how} during {where}; the kernel was stopped"
    if isinstance(failure, CellExecutionError) and state["status"] == "timeout":
        return "timeout", cell, (
            f"cell {cell} exceeded {cell_timeout} s (--cell-timeout {cell_timeout}); the kernel "
            "was stopped. Run without --cell-timeout to let it finish"
        )
    if isinstance(failure, CellExecutionError):
        lines = [l.strip() for l in cell_text(nb.cells[cell], True).splitlines() if l.strip()]
        return "failed", cell, next((l for l in lines if ERROR_LINE.match(l)), "".join(lines[:1]))
    if failure is None:
        return "completed", cell, None
    if kernel is None:
        return "failed", None, f"the kernel did not start: {failure}"
    code = kernel.poll()
    if code is not None and code < 0:
        cause = f"killed by {signal.Signals(-code).name}"
        if code == -signal.SIGKILL:
            cause += " (often the system's out-of-memory killer: see `dmesg`)"
    elif code is not None:
        cause = f"exit code {code}"
    else:
        cause = f"stopped answering ({type(failure).__name__}: {failure})"
    return "kernel died", cell, f"the kernel died during {where}: {cause}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook", help='the notebook file, or "-" to read it from stdin')
    ap.add_argument("--cwd", required=True, help="the kernel's working folder")
    ap.add_argument("--output", help="where to write the executed notebook")
    ap.add_argument("--cell-timeout", type=int, help="seconds a cell may run")
    ap.add_argument("--keep-going", action="store_true", help="run every cell whatever failed")
    ap.add_argument("--parent", type=int, help="the caller's pid: end with it")
    args = ap.parse_args()

    prctl(PR_SET_DUMPABLE, 0)
    if args.parent is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != args.parent:
            sys.exit(f"the process that started this one (pid {args.parent}) has ended")
    nb = nbformat.read(sys.stdin if args.notebook == "-" else args.notebook, as_version=4)
    run_state = os.environ.get("DLC_RUN_STATE")
    t0 = time.time()
    state = {"cell": None, "started": t0, "kernel": None, "signal": None, "status": None}
    read_fd, write_fd = os.pipe()
    relay = threading.Thread(target=relay_stderr, args=(read_fd,), daemon=True)
    relay.start()

    def on_signal(signum, *_):
        state["signal"] = state["signal"] or signum
        if state["kernel"] is None:
            raise KeyboardInterrupt
        stop_kernel(state["kernel"], grace=1.0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def on_notebook_start(**_):
        state["kernel"] = client.km.provisioner.process
        os.close(write_fd)  # the kernel holds its own copy: the relay ends with it
        code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        emit("kernel", pid=state["kernel"].pid, codeCells=code_cells)
        for s in (signal.SIGINT, signal.SIGTERM):  # instead of nbclient's
            asyncio.get_event_loop().add_signal_handler(s, on_signal, s)

    def on_cell_start(cell, cell_index, **_):
        if cell.cell_type != "code" or not cell.source.strip():
            return
        state["cell"], state["started"] = cell_index, time.time()
        if run_state:
            with open(f"{run_state}.tmp", "w") as f:
                name = os.path.basename(args.notebook)
                json.dump({"notebook": name, "cell": cell_index, "startedAt": int(t0 * 1000)}, f)
            os.replace(f"{run_state}.tmp", run_state)
        emit("start", cell=cell_index)

    def on_cell_executed(cell, cell_index, execute_reply, **_):
        content = (execute_reply or {}).get("content", {})
        status = "timeout" if content.get("ename") == TIMEOUT else content.get("status", "ok")
        state["status"] = status
        emit(
            "cell",
            cell=cell_index,
            status=status,
            seconds=round(time.time() - state["started"], 3),
            text=cell_text(cell, stderr_only=False),
            error=cell_text(cell, stderr_only=True),
        )

    client = NotebookClient(
        nb,
        kernel_name="tslab",
        timeout=args.cell_timeout,
        startup_timeout=60,
        allow_errors=args.keep_going,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": TIMEOUT, "evalue": "the cell ran too long and was interrupted"},
        shutdown_kernel="immediate",
        resources={"metadata": {"path": args.cwd}},
        on_notebook_start=on_notebook_start,
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
        # tslab drops the requests that arrive within 200 ms of a failed cell.
        on_cell_error=lambda **_: time.sleep(0.3),
    )
    failure = None
    try:
        # The kernel's stdout too: never into this process's, which carries the events.
        client.execute(stdout=write_fd, stderr=write_fd, preexec_fn=kernel_preexec())
    except KeyboardInterrupt:
        pass
    except Exception as e:  # a failed cell, a kernel that died or did not start
        failure = e
    # nbclient put back the default handlers: a later signal must not cut the report short.
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda signum, *_: state.update(signal=state["signal"] or signum))
    if state["kernel"] is None:
        os.close(write_fd)
    else:
        stop_kernel(state["kernel"], grace=3.0)
    if args.output:
        nbformat.write(nb, args.output)
    relay.join(timeout=2)

    status, cell, message = ending(state, failure, args.cell_timeout, nb)
    source = None if cell is None else nb.cells[cell].source
    emit("end", status=status, cell=cell, message=message, source=source)
    return 0 if status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())

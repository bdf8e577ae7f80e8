"""Execute one notebook under the tslab kernel, cell by cell (used by tools/run-notebooks.ts).

Prints one line per code cell, writes the executed notebook even when a cell fails
(so what ran stays inspectable), and exits 1 naming the failing cell and its error.
Before each cell it rewrites the run-state file that lib/viz reads to label figures.
"""
import argparse
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def write_json_atomic(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("output")
    ap.add_argument("--run-state", required=True)
    ap.add_argument("--cwd", required=True)
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()

    nb = nbformat.read(args.notebook, as_version=4)
    name = os.path.basename(args.notebook)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    started = time.time()
    cell_started = [started]
    current = [None]

    def on_cell_start(cell, cell_index, **_):
        cell_started[0] = time.time()
        current[0] = cell_index
        write_json_atomic(
            args.run_state,
            {"notebook": name, "cell": cell_index, "startedAt": int(started * 1000)},
        )

    def on_cell_complete(cell, cell_index, **_):
        if cell.cell_type != "code":
            return
        k = code_cells.index(cell_index) + 1
        dt = time.time() - cell_started[0]
        print(f"{args.tag} cell {cell_index} ({k}/{len(code_cells)} code) {dt:.1f}s", flush=True)

    client = NotebookClient(
        nb,
        timeout=args.timeout,
        kernel_name="tslab",
        resources={"metadata": {"path": args.cwd}},
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_complete,
    )
    failed = None
    try:
        client.execute()
    except CellExecutionError as e:
        failed = e
    except Exception as e:  # kernel death, timeout: still save what ran
        failed = e
    nbformat.write(nb, args.output)
    if failed is None:
        return 0
    # Execution stops at the failing cell: it is the last one started.
    bad = current[0]
    print(f"{args.tag} FAILED in cell {bad if bad is not None else '?'} of {name}", flush=True)
    if bad is not None:
        print("----- cell source -----", flush=True)
        print(nb.cells[bad].source, flush=True)
        print("----- error -----", flush=True)
        for o in nb.cells[bad].get("outputs", []):
            if o.get("output_type") == "error":
                print(f"{o.get('ename')}: {o.get('evalue')}", flush=True)
            elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                print(o.get("text", ""), flush=True)
    else:
        print(str(failed)[:4000], flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""How the notebook executors guard their processes (Linux prctl), for tools/execute_notebook.py
(the main job) and tools/assign_execute.py (the grader).

A `kill -9` of the executor sends nothing to the kernel, which runs in a session of its own
and would live on, holding its memory, for ever. With these, the kernel gets SIGKILL when the
executor dies, and the executor SIGTERM (to stop the kernel cleanly) when its caller dies.
"""
import ctypes
import os
import resource
import signal

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option, value):
    if _libc.prctl(option, int(value), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")


def die_with_parent(parent_pid, sig=signal.SIGTERM):
    """Gets `sig` when the parent ends; exits at once if it already has (it was `parent_pid`)."""
    _prctl(PR_SET_PDEATHSIG, sig)
    if parent_pid is not None and os.getppid() != parent_pid:
        raise SystemExit(f"the process that started this one (pid {parent_pid}) has ended")


def hide_memory():
    """Makes this process's memory unreadable to the kernel it starts, though both run as the
    same user (/proc/<pid>/mem, ptrace): the grader's executor holds the hidden tests."""
    _prctl(PR_SET_DUMPABLE, 0)


def kernel_preexec(sig=signal.SIGKILL, raise_data_limit=False):
    """A Popen preexec_fn: the child (the kernel) gets `sig` when this process ends.

    With `raise_data_limit`, the child's soft RLIMIT_DATA is raised to the hard one: the
    grader gives the executor a small soft limit and the kernel the rest of the submission's
    memory as the hard limit, which nothing in the sandbox can raise.

    The signal follows the thread that forks, so the kernel must be started from a thread
    that lives as long as the executor: nbclient starts it from the main thread's event loop.
    """
    parent = os.getpid()

    def preexec():
        _prctl(PR_SET_PDEATHSIG, sig)
        if os.getppid() != parent:
            os._exit(1)
        if raise_data_limit:
            _, hard = resource.getrlimit(resource.RLIMIT_DATA)
            resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))

    return preexec

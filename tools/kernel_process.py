"""Processes that end with their parent (Linux's PR_SET_PDEATHSIG), for the notebook executors.

A `kill -9` of the executor sends nothing to the kernel, which runs in a session of its own
and would live on, holding its memory, for ever. With these, the kernel gets SIGKILL when the
executor dies, and the executor SIGTERM (to stop the kernel cleanly) when its caller dies.
"""
import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _set_pdeathsig(sig):
    if _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")


def die_with_parent(parent_pid, sig=signal.SIGTERM):
    """Gets `sig` when the parent ends; exits at once if it already has (it was `parent_pid`)."""
    _set_pdeathsig(sig)
    if parent_pid is not None and os.getppid() != parent_pid:
        raise SystemExit(f"the process that started this one (pid {parent_pid}) has ended")


def kernel_preexec(sig=signal.SIGKILL):
    """A Popen preexec_fn: the child (the kernel) gets `sig` when this process ends.

    The signal follows the thread that forks, so the kernel must be started from a thread
    that lives as long as the executor: nbclient starts it from the main thread's event loop.
    """
    parent = os.getpid()

    def preexec():
        _set_pdeathsig(sig)
        if os.getppid() != parent:
            os._exit(1)

    return preexec

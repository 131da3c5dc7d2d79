"""Process hardening at detector start: no core dump may ever hold a frame.

A crash of a process that holds whole frames in memory would, with core dumps on, write those frames
(masked areas included: the capture buffer is unmasked) and the camera's secret key to disk. So before
anything sensitive is loaded the detector makes itself

- **not dumpable** (``prctl(PR_SET_DUMPABLE, 0)``): the kernel then writes no core at all, whatever
  ``core_pattern`` says (also when it pipes to systemd-coredump or apport, which ignore RLIMIT_CORE), and
  other processes of the same user can no longer ptrace it or read its memory through ``/proc``;
- **core-limited** (``RLIMIT_CORE`` soft and hard 0): a second lock that the process cannot undo later.

The device unit adds ``LimitCORE=0``. A failure is not a warning: the detector refuses to start.
"""

from __future__ import annotations

import ctypes
import logging
import resource
from dataclasses import dataclass

logger = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


class HardeningError(RuntimeError):
    """The process could not be made safe against core dumps; the detector must not start."""


@dataclass(frozen=True)
class HardeningState:
    """What the kernel says about this process after :func:`harden_process`."""

    dumpable: int
    core_limit: tuple[int, int]


def _libc() -> ctypes.CDLL:
    # dlopen(NULL): the C library the interpreter already uses. Not ctypes.util.find_library, which runs
    # ldconfig and may fall back to gcc, writing temporary files: the detector writes none.
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "prctl"):
        raise HardeningError("the C library has no prctl: the detector runs on Linux only")
    return libc


def harden_process() -> HardeningState:
    """Make this process non-dumpable and set its core size limit to 0 (soft and hard).

    Returns:
        The state read back from the kernel.

    Raises:
        HardeningError: if either setting cannot be applied or does not read back as applied.
    """
    libc = _libc()
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise HardeningError(f"prctl(PR_SET_DUMPABLE, 0) failed with errno {errno}")
    # Already 0 under the unit's LimitCORE=0; calling setrlimit then is skipped (the unit's seccomp filter
    # may refuse @resources calls).
    if resource.getrlimit(resource.RLIMIT_CORE) != (0, 0):
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except (OSError, ValueError) as exc:
            raise HardeningError(f"cannot set RLIMIT_CORE to 0: {exc}") from exc
    state = HardeningState(
        dumpable=int(libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)),
        core_limit=resource.getrlimit(resource.RLIMIT_CORE),
    )
    if state.dumpable != 0 or state.core_limit != (0, 0):
        raise HardeningError(f"process still dumpable or core-limited wrongly after hardening: {state}")
    logger.info("process hardened: not dumpable, core size limit 0")
    return state

"""Crash points for the crash-safety tests: ``SDAE_FAILPOINT`` (a glob) kills the process
with SIGKILL at the first matching point, as a power cut would. Points: ``write <path>`` just
before a file is renamed into place (:func:`sdae.io.outputs.atomic_write`), ``iteration
<what> <i>`` every few training iterations (:class:`sdae.nn.loop.Progress`). Unset, a point
costs one environment lookup."""

from __future__ import annotations

import fnmatch
import os
import signal


def failpoint(name: str) -> None:
    """Die here, as a crash would, if ``$SDAE_FAILPOINT`` matches ``name`` (tests only)."""
    pattern = os.environ.get("SDAE_FAILPOINT")
    if pattern and fnmatch.fnmatchcase(name, pattern):
        os.kill(os.getpid(), signal.SIGKILL)

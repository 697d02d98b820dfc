"""The ``sdae`` command: flags -> config -> the library -> printed results.

:mod:`sdae.cli.parser` declares the flags, :mod:`sdae.config` turns them into a checked config
(torch-free, so ``--help`` and a bad flag answer at once), and :mod:`sdae.cli.commands` runs
it. User mistakes (:class:`SdaeError`, bad arguments, unusable paths) print one line,
``sdae: error: ...``, on stderr and exit with status 2; SIGINT and SIGTERM stop a run with one
line (finished files are kept, a run's staging folder is removed); anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence

from sdae.cli.parser import build_parser, config_from_args
from sdae.errors import SdaeError


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so that ``finally`` blocks clean up as for
    Ctrl-C (a BaseException: no ``except Exception`` swallows it)."""


def _terminate(signum, frame) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)  # every check of the settings, before any work or output
    if args.command == "denoise":  # without the training engine's imports: ~2 s sooner
        from sdae.cli.denoising import cmd_denoise

        return cmd_denoise(args, config)
    from sdae.cli import commands  # the engine (torch) loads only for a valid command

    return commands.COMMANDS[args.command](args, config)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        with _sigterm_raises():
            return _run(argv)
    except SdaeError as exc:
        print(f"sdae: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the user's paths: full disk, no permission, a file in the way
        if isinstance(exc, BrokenPipeError):  # `sdae ... | head`: the reader left
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        if exc.filename is None:
            raise
        where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
        print(f"sdae: error: {where}: {exc.strerror or exc}; check the path, its permissions "
              "and the free space", file=sys.stderr)  # fmt: skip
        return 2
    except (KeyboardInterrupt, Terminated) as exc:
        what = "interrupted" if isinstance(exc, KeyboardInterrupt) else "terminated (SIGTERM)"
        print(f"sdae: {what}; finished files are intact, unfinished ones were not written",
              file=sys.stderr)  # fmt: skip
        return 130 if isinstance(exc, KeyboardInterrupt) else 128 + signal.SIGTERM


if __name__ == "__main__":
    raise SystemExit(main())

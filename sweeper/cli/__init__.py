"""The `sweeper` command: parses, calls one command, maps errors to exit codes.

Exit codes: 0 ok, 2 bad input or a file system that refuses (one line on stderr naming
the culprit, no traceback; `--debug` shows one), 130 interrupted (Ctrl-C), 1 anything else.
"""

from __future__ import annotations

import os
import sys
import traceback

from sweeper.errors import SweeperError, one_line

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `sweeper` console script."""
    from sweeper.cli.commands import COMMANDS
    from sweeper.cli.parser import build_parser

    args = build_parser().parse_args(argv)
    if args.quiet:
        os.environ["TQDM_DISABLE"] = "1"
    try:
        return COMMANDS[args.command](args)
    except SweeperError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"sweeper: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sweeper: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `sweeper tasks | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # the file system said no (a path, permissions, space): input
        if args.debug:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"sweeper: error: {where}{exc.strerror or one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still one line, the traceback behind --debug
        if args.debug:
            traceback.print_exc()
        print(f"sweeper: internal error: {type(exc).__name__}: {one_line(exc)} "
              "(run with --debug for the traceback)", file=sys.stderr)
        return 1

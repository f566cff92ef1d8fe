"""The arena-run command line: commands and output only.

Everything here is a thin shell over the layers below; the work is done in
spec, render (and later plan, apply, status), which return data and never print.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    # No pydantic plugin can matter to a CLI; skipping the entry-point scan
    # saves a noticeable slice of start-up on machines with many packages.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    from .app import run

    return run(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

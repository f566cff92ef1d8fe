"""tomllib where the standard library has it (3.11+), tomli before.

Floats come out as WrittenFloat, so a sweep value prints as the file spells it.
"""

import sys
from functools import partial

from .floats import WrittenFloat

if sys.version_info >= (3, 11):
    from tomllib import TOMLDecodeError, loads as _loads
else:  # pragma: no cover - exercised on 3.10 only
    from tomli import TOMLDecodeError, loads as _loads

loads = partial(_loads, parse_float=WrittenFloat)

__all__ = ["TOMLDecodeError", "loads"]

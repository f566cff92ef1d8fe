"""The package ships py.typed: its annotations hold under mypy --strict, every module of it.

The configuration is [tool.mypy] in pyproject.toml (strict, as Python 3.10, the
oldest supported).  mypy keeps its cache in .mypy_cache of the checkout, so
after the first run only changed modules are checked again.
"""

import re
import subprocess
import sys

from arena_run.spec._toml import loads

from .conftest import ROOT


def test_mypy_strict_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Success: no issues found" in result.stdout


def test_no_module_is_exempt_and_every_ignore_says_why():
    config = loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True and config["packages"] == ["arena_run"]
    exempt = [o["module"] for o in config.get("overrides", []) if o.get("ignore_errors")]
    assert exempt == []
    # An ignore names its error code (mypy enforces that: ignore-without-code)
    # and a reason after it, such as the untyped library it works around.
    unexplained = []
    for path in sorted((ROOT / "arena_run").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"#\s*type:\s*ignore", line) and not re.search(r"#\s*type:\s*ignore\[[^\]]+\]\s*#\s*\S", line):
                unexplained.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert unexplained == []

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("arena.*") if p.suffix in (".toml", ".yaml", ".yml"))
GOLDEN = ROOT / "tests" / "golden"
SEED = ROOT / "tests" / "fixtures" / "seed.toml"


def golden_name(path: Path) -> str:
    """tests/golden/<this>.yaml holds the rendering of path (tests/update-golden writes it)."""
    return "seed" if path == SEED else path.parent.name


@pytest.fixture
def run_cli(capsys):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    from arena_run.cli import main

    def run(*args: str):
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def bounded_worker():
    """A process that loads files and says how long each took and how much memory (tests/bounded.py)."""
    from .bounded import Worker

    worker = Worker()
    worker.ready()
    yield worker
    worker.close()

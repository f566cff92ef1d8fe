from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("arena.*") if p.suffix in (".toml", ".yaml", ".yml"))


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

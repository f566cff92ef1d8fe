import signal
from pathlib import Path

import pytest

# A suite started in the background by a shell without job control (`cmd &` in a script, nohup) inherits
# SIGINT ignored, and so would every arena-run it starts, which then cannot be stopped with Ctrl-C as the
# tests do. A handler, unlike SIG_IGN, is reset to the default at exec: the children get a terminal's SIGINT.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

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

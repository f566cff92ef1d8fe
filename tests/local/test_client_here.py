"""arena_run.Client on this machine: the calls of tests/client_drive.py, then what every target shares:
input from Python refused as files are, short reprs, notebook tables, resolved annotations, str logs."""

from __future__ import annotations

import inspect
import pydoc

import pytest

from arena_run import Client
from arena_run.api import Experiment, SpecError
from tests.client_drive import drive, experiment_text


@pytest.fixture
def client(local, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(local.data))
    monkeypatch.setenv("PATH", local.env["PATH"])
    return Client(local=True, state_dir=str(local.state / "arena-run"))


def test_the_client_drives_this_machine(local, client):
    path = local.write("cl", experiment_text("cl"))
    drive(client, str(path), "cl", started=lambda: None, finish=lambda: None)

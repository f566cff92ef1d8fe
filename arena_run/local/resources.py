"""GPUs and cores held by local runs, machine-wide: one small ledger under a lock.

Every supervisor (one per experiment) admits a run only when the GPUs it
needs are free and the cores it asks for fit; a run that holds nothing else
on the machine is always admitted on cores (a 4-replica job still runs on a
2-core laptop, slowly), never on GPUs.  Entries of a supervisor that died
are dropped: its lock is free, and its replicas died with it.
"""

from __future__ import annotations

import os
import re
from typing import Any, Optional

from ..objects.quantity import Quantity
from .state import LocalError, Store, read_json, write_json

CPUS_VAR = "ARENA_RUN_LOCAL_CPUS"


def cores_available() -> int:
    """The cores local runs share: $ARENA_RUN_LOCAL_CPUS (a whole number), else this process's CPUs."""
    value = os.environ.get(CPUS_VAR)
    if value:
        if not re.fullmatch(r"\s*[0-9]{1,6}\s*", value) or int(value) < 1:
            raise LocalError(f"{CPUS_VAR}={value!r}: expected a whole number of cores (e.g. 4)")
        return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


def cores_of(cpu: Optional[str]) -> float:
    """A replica's cores: its cpu request as the scheduler counts it (`100m` is a tenth), 1 when it asks for none."""
    if not cpu:
        return 1.0
    return float(Quantity.parse(cpu).value)


def _held(store: Store) -> dict[str, Any]:
    """The ledger's entries, {"experiment/uid": {"gpus": [...], "cores": n}}; LocalError when the file is damaged.

    Guessing would be worse than stopping: an empty ledger would give GPUs a
    live run holds to a second one.
    """
    data = read_json(store.resources_path(), {})
    held = data.get("held", {}) if isinstance(data, dict) else None
    if not isinstance(held, dict) or not all(
            isinstance(k, str) and "/" in k and isinstance(v, dict) and isinstance(v.get("gpus", []), list)
            and _number(v.get("cores", 0)) for k, v in held.items()):
        raise LocalError(f"{store.resources_path()} is damaged (not the ledger of GPUs and cores held); "
                         "remove it once no local job runs (arena-run status --local)")
    return held


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)  # cores: 0.1 for cpu = "100m"


def check(store: Store) -> None:
    """Raise LocalError now for what would stop every run later: a bad $ARENA_RUN_LOCAL_CPUS, a damaged ledger."""
    cores_available()
    with store.resources_lock():
        _held(store)


class Ledger:
    def __init__(self, store: Store, experiment: str) -> None:
        self.store, self.experiment = store, experiment

    def _live(self, held: dict[str, Any], mine: set[str]) -> dict[str, Any]:
        out = {}
        for key, entry in held.items():
            exp, uid = key.split("/", 1)
            if exp == self.experiment:
                if uid in mine:
                    out[key] = entry
            elif self.store.supervisor_alive(exp):
                out[key] = entry
        return out

    def admit(self, uid: str, gpus_needed: list[int], cores: float, visible: list[str],
              mine: set[str]) -> tuple[Optional[list[list[str]]], Optional[str]]:
        """(gpu uuids per replica, None) when admitted, else (None, why it waits)."""
        with self.store.resources_lock():
            held = self._live(_held(self.store), mine)
            taken = {g for e in held.values() for g in e.get("gpus", [])}
            free = [g for g in visible if g not in taken]
            need = sum(gpus_needed)
            if need > len(free):
                return None, f"needs {need} GPU{'s' if need != 1 else ''}, {len(free)} free"
            used = sum(e.get("cores", 0) for e in held.values())
            total = cores_available()
            if held and round(used + cores, 3) > total:  # milli-cores, as Kubernetes counts
                return None, f"needs {cores:g} core{'s' if cores != 1 else ''}, {max(total - used, 0):g} free of {total}"
            given: list[list[str]] = []
            rest = list(free)
            for n in gpus_needed:
                given.append(rest[:n])
                rest = rest[n:]
            held[f"{self.experiment}/{uid}"] = {"gpus": [g for part in given for g in part], "cores": cores}
            write_json(self.store.resources_path(), {"held": held})
            return given, None

    def release(self, uid: str, mine: set[str]) -> None:
        with self.store.resources_lock():
            held = self._live(_held(self.store), mine)
            held.pop(f"{self.experiment}/{uid}", None)
            write_json(self.store.resources_path(), {"held": held})

    def holdings(self) -> dict[str, Any]:
        with self.store.resources_lock():
            held = _held(self.store)
            return {k: v for k, v in held.items() if self.store.supervisor_alive(k.split("/", 1)[0])}

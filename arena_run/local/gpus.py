"""The GPUs this machine may use, as `nvidia-smi` reports them and the caller's environment allows.

`CUDA_VISIBLE_DEVICES` (indices or UUIDs; empty or -1: none) and
`NVIDIA_VISIBLE_DEVICES` (all, none, void, or indices/UUIDs) of the caller
narrow what nvidia-smi lists.  Replicas are given GPUs by UUID, so CUDA's
own device order (fastest first, unless CUDA_DEVICE_ORDER says otherwise)
cannot hand a replica a GPU another replica holds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Mapping, NamedTuple, Optional

QUERY = ["--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu", "--format=csv,noheader,nounits"]


class GPU(NamedTuple):
    # nvidia-smi's index; not so named, as that would hide tuple.index (mypy rightly refuses it)
    ordinal: int
    uuid: str
    name: str
    memory_mib: int


class Inventory(NamedTuple):
    gpus: list[GPU]
    note: str  # why there are none, when there are none


def parse(text: str) -> list[GPU]:
    out = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) < 4 or not cells[0].isdigit():
            continue
        try:
            memory = int(float(cells[3]))
        except ValueError:
            memory = 0
        out.append(GPU(int(cells[0]), cells[1], cells[2], memory))
    return out


def _allowed(gpus: list[GPU], value: Optional[str]) -> list[GPU]:
    if value is None:
        return gpus
    value = value.strip()
    if value.lower() in ("all",):
        return gpus
    if value in ("", "-1") or value.lower() in ("none", "void"):
        return []
    wanted = []
    for item in value.split(","):
        item = item.strip()
        for g in gpus:
            if (item.isdigit() and int(item) == g.ordinal) or (item and g.uuid.startswith(item)):
                if g not in wanted:
                    wanted.append(g)
                break
        else:
            break  # CUDA stops at the first device it cannot find
    return wanted


def detect(env: Optional[Mapping[str, str]] = None) -> Inventory:
    env = os.environ if env is None else env
    smi = shutil.which("nvidia-smi", path=env.get("PATH"))
    if smi is None:
        return Inventory([], "nvidia-smi not found")
    try:
        result = subprocess.run([smi, *QUERY], capture_output=True, text=True, timeout=30, env=dict(env))
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Inventory([], f"nvidia-smi failed: {exc}")
    if result.returncode != 0:
        return Inventory([], f"nvidia-smi failed: {(result.stderr or result.stdout).strip()[:200]}")
    gpus = parse(result.stdout)
    gpus = _allowed(gpus, env.get("NVIDIA_VISIBLE_DEVICES"))
    gpus = _allowed(gpus, env.get("CUDA_VISIBLE_DEVICES"))
    return Inventory(gpus, "" if gpus else "no GPU visible (CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES)")

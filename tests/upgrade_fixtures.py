"""The state older releases of arena-run left, recorded by `tests/cluster/record-live DIR --upgrade TREE`.

Each tests/fixtures/upgrade/<version>-<commit>.json holds what one release
wrote when it applied the experiments of tests/fixtures/upgrade/cluster/ (and
local/, where it had a local target), its jobs running: the API server's
objects (status and managedFields as served) and the local state's record
files.  These functions put that state back, for today's arena-run to plan
and apply with the files unchanged.  README.md there says how it was made.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from arena_run.objects.applyset import applyset_id, parent_name

HERE = Path(__file__).resolve().parent / "fixtures" / "upgrade"
RECORDED_NAMESPACE = "ns"
TMP = "@TMP@"  # the recording's temporary directory, in the local state's paths
JOB_KINDS = ("TFJob", "PyTorchJob", "MPIJob", "TrainJob")


def releases(target: str) -> list[str]:
    """The recorded releases that had the target ("cluster" or "local"), as `0.1.0-62e7c8f`."""
    return sorted(p.stem for p in HERE.glob("*.json") if target in json.loads(p.read_text()))


def recording(release: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads((HERE / f"{release}.json").read_text())
    return out


def files(target: str, into: Path) -> list[str]:
    """The experiment files the release applied, copied under into/<name>/arena.toml unchanged."""
    out = []
    for src in sorted((HERE / target).glob("*.toml")):
        (into / src.stem).mkdir(parents=True, exist_ok=True)
        out.append(str(shutil.copy(src, into / src.stem / "arena.toml")))
    return out


def cluster_objects(release: str, namespace: str) -> list[dict[str, Any]]:
    """The recorded objects, moved to namespace (the ApplySet IDs hash it, so they move along)."""
    text = json.dumps(recording(release)["cluster"]["objects"])
    for src in (HERE / "cluster").glob("*.toml"):
        name = parent_name(src.stem)
        text = text.replace(applyset_id(name, RECORDED_NAMESPACE), applyset_id(name, namespace))
    text = text.replace(f'"{RECORDED_NAMESPACE}"', f'"{namespace}"').replace(
        f".{RECORDED_NAMESPACE}.", f".{namespace}.")
    objects: list[dict[str, Any]] = json.loads(text)
    return objects


def create_on_cluster(cluster, namespace: str, release: str) -> list[dict[str, Any]]:
    """Create the release's objects in namespace as it left them: spec, labels and annotations as
    recorded (less a Service's allocated address), then their managedFields (the planner reads who owns
    what) set back to the recorded entries.  The operators then run the jobs again, as they ran when
    recorded."""
    objects = cluster_objects(release, namespace)
    for obj in objects:
        fields = obj["metadata"].pop("managedFields")
        if obj["kind"] == "Service":  # addresses the API server allocated: another test may hold them now
            for field in ("clusterIP", "clusterIPs"):
                obj["spec"].pop(field, None)
        cluster.run_kubectl("create", "-f", "-", input=json.dumps(obj))
        patch = [{"op": "replace", "path": "/metadata/managedFields", "value": fields}]
        cluster.run_kubectl("-n", namespace, "patch", f"{_resource(obj)}/{obj['metadata']['name']}",
                            "--type=json", "-p", json.dumps(patch))
    return objects


def _resource(obj: dict[str, Any]) -> str:
    group = obj["apiVersion"].rpartition("/")[0]
    return obj["kind"].lower() + (f".{group}" if group else "")


def write_local_state(release: str, tmp: Path) -> dict[str, Any]:
    """The release's local state files under tmp/state (the recording's paths put back under tmp);
    {path: content} as written."""
    recorded = recording(release)["local"]["files"]
    experiments = tmp / "state" / "arena-run" / "experiments"
    for rel, content in recorded.items():
        path = experiments / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=1).replace(TMP, str(tmp)))
    return {rel: (experiments / rel).read_bytes() for rel in recorded}


def edit(paths: list[str], experiment: str, old: str, new: str) -> str:
    """The user's edit after the upgrade: old replaced by new in that experiment's file; its path."""
    (path,) = [p for p in paths if p.endswith(f"/{experiment}/arena.toml")]
    text = Path(path).read_text()
    assert old in text
    Path(path).write_text(text.replace(old, new))
    return path

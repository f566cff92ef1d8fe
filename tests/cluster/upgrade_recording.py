"""`record-live DIR --upgrade TREE`: the state an older release of arena-run leaves, for the upgrade tests.

TREE is a checkout of that release with its own venv; its arena-run does the
applying, so what is recorded is exactly what that release wrote.  This side
only reads (kubectl, the state directory's files) and deletes what it made.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from arena_run.local.state import Store
from arena_run.objects.applyset import applyset_id, parent_name

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "upgrade"
NAMESPACE = "ns"  # the recorded namespace; upgrade_fixtures.py puts the test's own in its place
TMP = "@TMP@"  # the recorded local run's temporary directory (state, data and files under it)
VOLATILE = ("uid", "resourceVersion", "creationTimestamp", "generation")
MEMBER_KINDS = "configmaps,services,deployments.apps,tfjobs.kubeflow.org,pytorchjobs.kubeflow.org," \
               "mpijobs.kubeflow.org,trainjobs.trainer.kubeflow.org"
# What the local state holds that is the record (not logs, code, scratch or locks).
LOCAL_RECORD = ("parent.json", "supervisor.json", "status.json")


def record(plane, tree: Path) -> Path:
    old = tree / ".venv" / "bin" / "arena-run"
    version = subprocess.run([str(old), "--version"], capture_output=True, text=True, check=True).stdout.split()[-1]
    commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    out = {"version": version, "commit": commit, "cluster": _cluster(plane, old)}
    if "--local" in subprocess.run([str(old), "apply", "--help"], capture_output=True, text=True).stdout:
        out["local"] = _local(old)
    path = FIXTURES / f"{version}-{commit}.json"
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return path


def _files(target: str) -> list[Path]:
    return sorted((FIXTURES / target).glob("*.toml"))


def _names(target: str) -> list[str]:
    return [p.stem for p in _files(target)]


def _cluster(plane, old: Path) -> dict:
    from tests.waiting import until

    ns = f"rec-{uuid.uuid4().hex[:8]}"
    plane.run_kubectl("create", "namespace", ns)
    try:
        subprocess.run([str(old), "apply", "-y", "--wait", "--timeout", "300", f"--kubeconfig={plane.kubeconfig}",
                        "-n", ns, *map(str, _files("cluster"))], check=True)
        until(lambda: _all_running(plane, ns), timeout=180, what="every job Running")
        got = json.loads(plane.run_kubectl("-n", ns, "get", MEMBER_KINDS, "-o", "json", "--show-managed-fields").stdout)["items"]
        objects = [o for o in got if {"applyset.kubernetes.io/part-of", "applyset.kubernetes.io/id"}
                   & set(o["metadata"].get("labels") or {})]
    finally:
        plane.run_kubectl("delete", "namespace", ns, "--wait=false", check=False)
    for obj in objects:
        for field in VOLATILE:
            obj["metadata"].pop(field, None)
        for entry in obj["metadata"].get("managedFields") or []:
            entry.pop("time", None)
    text = json.dumps(sorted(objects, key=lambda o: (o["kind"], o["metadata"]["name"])))
    # The ApplySet IDs hash the namespace: they are rewritten with it.
    for name in _names("cluster"):
        text = text.replace(applyset_id(parent_name(name), ns), applyset_id(parent_name(name), NAMESPACE))
    return {"namespace": NAMESPACE, "objects": json.loads(text.replace(f'"{ns}"', f'"{NAMESPACE}"')
                                                          .replace(f".{ns}.", f".{NAMESPACE}."))}


def _all_running(plane, ns: str) -> bool:
    jobs = json.loads(plane.run_kubectl("-n", ns, "get", "tfjobs,pytorchjobs,mpijobs.kubeflow.org", "-o",
                                        "json").stdout)["items"]
    running = all(any(c["type"] == "Running" and c["status"] == "True" for c in (j.get("status") or {})
                      .get("conditions") or []) for j in jobs)
    pods = json.loads(plane.run_kubectl("-n", ns, "get", "pods", "-o", "json").stdout)["items"]
    return running and bool(pods) and all((p.get("status") or {}).get("phase") == "Running" for p in pods)


def _local(old: Path) -> dict:
    from tests.waiting import until

    tmp = Path(tempfile.mkdtemp(prefix="arena-upgrade-"))
    env = {**os.environ, "XDG_STATE_HOME": str(tmp / "state"), "XDG_DATA_HOME": str(tmp / "data"), "ARENA_RUN_LOCAL_CPUS": "8",
           "PATH": f"{ROOT / 'tests' / 'fixtures' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    files = []
    for path in _files("local"):
        (tmp / "files" / path.stem).mkdir(parents=True)
        files.append(shutil.copy(path, tmp / "files" / path.stem / "arena.toml"))
    experiments = tmp / "state" / "arena-run" / "experiments"
    try:
        subprocess.run([str(old), "apply", "--local", "-y", *files], env=env, check=True)
        until(lambda: _runs_running(experiments), timeout=120, what="every local run Running")
        recorded = {}
        for path in sorted(experiments.rglob("*.json")):
            rel = path.relative_to(experiments)
            if rel.name in LOCAL_RECORD or rel.parts[1] == "objects":
                recorded[str(rel)] = json.loads(path.read_text().replace(str(tmp), TMP))
    finally:
        for name in _names("local"):
            subprocess.run([str(old), "delete", "--local", "-y", name], env=env, check=False)
        # 0.1.0's delete returns before its supervisor has exited, which may still write its state.
        store = Store(str(tmp / "state" / "arena-run"))
        until(lambda: not any(store.supervisor_alive(n) for n in _names("local")), what="the old supervisors gone")
        shutil.rmtree(tmp)
    return {"files": recorded}


def _runs_running(experiments: Path) -> bool:
    objects = [p for kind in ("TFJob", "PyTorchJob", "Deployment") for p in experiments.glob(f"*/objects/{kind}/*.json")]
    uids = [(p.parents[2], json.loads(p.read_text())["uid"]) for p in objects]
    statuses = [d / "runs" / uid / "status.json" for d, uid in uids]
    return bool(objects) and all(s.exists() and json.loads(s.read_text()).get("phase") == "Running"
                                 for s in statuses)

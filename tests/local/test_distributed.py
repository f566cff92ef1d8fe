"""Replicas that really reach each other at the addresses the operator's variables give them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from ..conftest import ROOT

# Every TF replica listens on its own address from TF_CONFIG, connects to every
# other one and says who it is; it writes what it heard into the shared volume.
# The chief (whose success ends the job) waits until every other replica's
# report is there, so all of them are checked.
TF_PEER = textwrap.dedent('''
    import json, os, socket, threading, time
    raw = os.environ["TF_CONFIG"]
    cfg = json.loads(raw)
    me = (cfg["task"]["type"], cfg["task"]["index"])
    peers = [(t, i, a) for t, addrs in cfg["cluster"].items() for i, a in enumerate(addrs)]
    mine = dict(((t, i), a) for t, i, a in peers)[me]
    host, port = mine.rsplit(":", 1)
    server = socket.create_server((host, int(port)))
    heard = []
    others = [p for p in peers if (p[0], p[1]) != me]
    def accept():
        for _ in others:
            conn, _ = server.accept()
            heard.append(conn.makefile().readline().strip())
    t = threading.Thread(target=accept); t.start()
    for typ, i, addr in others:
        h, p = addr.rsplit(":", 1)
        while True:
            try:
                s = socket.create_connection((h, int(p))); break
            except OSError:
                time.sleep(0.05)
        s.sendall(f"{me[0]}-{me[1]}\\n".encode()); s.close()
    t.join()
    report = {"me": f"{me[0]}-{me[1]}", "heard": sorted(heard), "tf_config": raw, "cwd": os.getcwd()}
    with open(f"/data/{me[0]}-{me[1]}.json", "w") as fh:
        json.dump(report, fh)
    if me[0] == "chief":
        names = [f"{t}-{i}" for t, i, _ in others]
        while not all(os.path.exists(f"/data/{n}.json") for n in names):
            time.sleep(0.05)
''')


def test_tf_ps_workers_and_chief_reach_each_other(local, tmp_path):
    code = tmp_path / "src"
    code.mkdir()
    (code / "peer.py").write_text(TF_PEER)
    out = tmp_path / "out"
    f = local.write("tf", f'''
name = "tfdist"
[code]
rsync = "{code}/"
[[data]]
pvc = "results"
mount = "/data"
[job]
image = "tensorflow/tensorflow:2.16.1"
command = "python3 code/peer.py"
workers = 2
ps = 1
chief = true
''')
    result = local.cli("apply", "--local", "-y", "--wait", "--volume", f"results={out}", f, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    reports = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    everyone = {"chief-0", "ps-0", "worker-0", "worker-1"}
    assert set(reports) == everyone  # written at the mount path, landed in the --volume directory
    for name, report in reports.items():
        assert set(report["heard"]) == everyone - {name}
        assert report["cwd"] == "/root"
    # The operator's format exactly: Go's field order, sorted cluster keys, no spaces.
    raw = reports["worker-1"]["tf_config"]
    cfg = json.loads(raw)
    assert raw.startswith('{"cluster":{"chief":["127.0.0.1:') and " " not in raw
    assert list(cfg) == ["cluster", "task", "environment"] and cfg["environment"] == "cloud"
    assert list(cfg["cluster"]) == ["chief", "ps", "worker"] and len(cfg["cluster"]["worker"]) == 2
    assert cfg["task"] == {"type": "worker", "index": 1}
    addresses = [a for addrs in cfg["cluster"].values() for a in addrs]
    assert len(set(addresses)) == 4
    assert local.status("tfdist")["phase"] == "Succeeded"
    assert not os.path.exists("/data/chief-0.json")  # the host's own /data was never written


def _train_module():
    sys.path.insert(0, str(ROOT / "examples" / "quickstart"))
    try:
        import train
    finally:
        sys.path.pop(0)
    return train


def assert_quickstart_model(model: dict, steps: int = 5) -> None:
    """The model the replicas wrote is what one process computes over all the data in `steps` steps."""
    train = _train_module()
    data = train.make_data()
    w, b = [0.0] * train.FEATURES, 0.0
    for _ in range(steps):
        total = train.grad_and_loss(w, b, data)
        n = total[-1]
        w = [wi - 0.5 * g / n for wi, g in zip(w, total[:train.FEATURES])]
        b -= 0.5 * total[train.FEATURES] / n
    assert all(abs(a - e) < 1e-9 for a, e in zip(model["weights"], w)) and abs(model["bias"] - b) < 1e-9


def test_pytorch_master_and_two_workers_average_gradients(local, tmp_path):
    """The quickstart with workers = 3: the same model plain gradient descent on all the data gives."""
    src = (ROOT / "examples" / "quickstart" / "arena.toml").read_text()
    f = tmp_path / "qs" / "arena.toml"
    f.parent.mkdir()
    f.write_text(src.replace("workers = 2", "workers = 3").replace("--steps 30", "--steps 5"))
    (f.parent / "train.py").write_text((ROOT / "examples" / "quickstart" / "train.py").read_text())
    result = local.cli("apply", "--local", "-y", "--wait", f, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "step   5  loss" in result.stdout  # --wait follows the master's log
    model = json.loads((local.volume("quickstart-data") / "model.json").read_text())
    assert model["replicas"] == 3
    assert_quickstart_model(model)
    workers = {}
    for index in (0, 1):
        out = local.cli("logs", "--local", "quickstart", "--role", "worker", "--index", index, check=True).stdout
        workers[index] = out.splitlines()[0]
    assert workers[0].startswith("rank 1/3") and workers[1].startswith("rank 2/3")


def test_code_cloned_from_a_local_git_repository(local, tmp_path):
    repo = tmp_path / "sample.git"
    work = tmp_path / "work"
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    (work / "run.py").write_text("import os; open('/data/seen', 'w').write(os.getcwd() + ' v1')\n")
    subprocess.run(["git", "-C", str(work), "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "commit", "-qm", "v1"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "checkout", "-qb", "exp"], check=True, env=env)
    (work / "run.py").write_text("import os; open('/data/seen', 'w').write(os.getcwd() + ' exp')\n")
    subprocess.run(["git", "-C", str(work), "commit", "-qam", "exp"], check=True, env=env)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(repo)], check=True)
    host_dir = tmp_path / "hostdata"
    host_dir.mkdir()
    f = local.write("git", f'''
name = "gitjob"
[code]
git = "file://{repo}"
ref = "exp"
[[data]]
host_path = "{host_dir}"
mount = "/data"
[job]
image = "python:3.12"
working_dir = "/workspace"
command = "python3 code/sample/run.py"
''')
    result = local.cli("apply", "--local", "-y", "--wait", f, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (host_dir / "seen").read_text() == "/workspace exp"  # ref checked out, at <working_dir>/code/<repo>
    assert not os.path.exists("/workspace")

"""Hand-damaged local state: detected, recovered or refused in one line; never two supervisors (issue 18 items 8, 9)."""

from __future__ import annotations

import os

import pytest

from arena_run.local.state import read_json, write_json

from .conftest import processes_with, wait_until

SLEEPER = '''
name = "{name}"
[job]
image = "python:3.12"
command = "sleep 300"
{extra}
'''


def running(local, name="dmg", extra=""):
    f = local.write(name, SLEEPER.format(name=name, extra=extra))
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    wait_until(lambda: local.status(name)["phase"] == "Running", what="the job running")
    return f


def supervisors(local):
    """Live supervisor processes of this test's state directory."""
    out = []
    for pid in processes_with(str(local.state)):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if b"arena_run.local.supervisor" in fh.read():
                    out.append(pid)
        except FileNotFoundError:
            continue
    return out


def cut_short(path):
    text = open(path).read()
    with open(path, "w") as fh:
        fh.write(text[: len(text) // 2])


# A record cut short, or removed while its job runs (a removed one hid the running job from status and
# plan offered to create it again).
DAMAGES = {"cut short": (cut_short, "not JSON: cut short or edited by hand"),
           "removed": (os.remove, "missing, while members of the experiment are recorded")}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_record_is_said_in_one_line_and_delete_still_stops_everything(local, damage):
    f = running(local)
    parent = local.store().dir("dmg") + "/parent.json"
    spoil, why = DAMAGES[damage]
    spoil(parent)
    status = local.cli("status", "--local")
    assert status.returncode == 1 and "No local experiments" not in status.stdout
    (line,) = status.stderr.splitlines()
    assert f"{parent} is damaged ({why})" in line
    plan = local.cli("plan", "--local", f)
    assert plan.returncode == 1 and "create" not in plan.stdout, plan.stdout + plan.stderr
    assert f"{parent} is damaged ({why})" in plan.stderr
    assert "arena-run delete --local dmg" in line
    deleted = local.cli("delete", "--local", "-y", "dmg")
    assert deleted.returncode == 0, deleted.stderr
    assert processes_with(str(local.state)) == [] and local.store().names() == []


def test_a_truncated_run_status_is_rewritten_by_its_live_supervisor(local):
    running(local)
    store = local.store()
    (entry,) = store.objects("dmg")
    path = store.run_dir("dmg", entry["uid"]) + "/status.json"
    cut_short(path)
    assert local.status("dmg")["phase"] == "Running"  # not Pending: the supervisor was asked again
    assert read_json(path)["phase"] == "Running"


def test_a_run_status_damaged_while_no_supervisor_ran_is_recorded_as_lost(local):
    f = running(local)
    store = local.store()
    (entry,) = store.objects("dmg")
    path = store.run_dir("dmg", entry["uid"]) + "/status.json"
    pid = read_json(store.dir("dmg") + "/supervisor.json")["pid"]
    os.kill(pid, 9)
    wait_until(lambda: not supervisors(local), what="the supervisor gone")
    with open(path, "w") as fh:
        fh.write('{"phase": "Runn')
    status = local.status("dmg")
    (job,) = status["jobs"]
    assert job["phase"] == "Failed" and job["message"].startswith("SupervisorLost: the supervisor of dmg is gone")
    assert local.cli("apply", "--local", "-y", "--rerun", f).returncode == 0
    wait_until(lambda: local.status("dmg")["phase"] == "Running", what="the job running again")


def test_removing_the_old_lock_file_neither_loses_the_supervisor_nor_lets_a_second_start(local):
    f = running(local)
    exp_dir = local.store().dir("dmg")
    for name in ("supervisor.lock",):  # the lock file of earlier versions, removed by hand
        if os.path.exists(os.path.join(exp_dir, name)):
            os.unlink(os.path.join(exp_dir, name))
    assert local.status("dmg")["phase"] == "Running"
    assert local.cli("apply", "--local", "-y", "--rerun", f).returncode == 0
    assert len(supervisors(local)) == 1
    assert local.cli("delete", "--local", "-y", "dmg").returncode == 0
    assert processes_with(str(local.state)) == []


def test_a_damaged_supervisor_record_is_one_line(local):
    running(local)
    path = local.store().dir("dmg") + "/supervisor.json"
    write_json(path, {"started": "now"})
    result = local.cli("delete", "--local", "-y", "dmg")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert f"{path} is damaged (no pid)" in line
    write_json(path, {"pid": supervisors(local)[0]})  # repaired by hand: delete works again
    assert local.cli("delete", "--local", "-y", "dmg").returncode == 0
    assert processes_with(str(local.state)) == []


def test_delete_of_a_supervisor_busy_starting_replicas_returns_with_nothing_left(local):
    f = local.write("busy", SLEEPER.format(name="busy", extra="workers = 24"))
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    # At once, while it starts its replicas.
    assert local.cli("delete", "--local", "-y", "busy").returncode == 0
    assert processes_with(str(local.state)) == []
    assert not os.path.exists(local.store().dir("busy"))


def test_a_directory_or_a_fifo_in_place_of_the_record_is_damage_in_one_line(local):
    """Found by test_fuzz_local: a directory named parent.json made an internal error; a FIFO would hang the reader."""
    for kind, plant in (("directory", os.mkdir), ("fifo", os.mkfifo)):
        name = f"odd-{kind}"
        f = local.write(name, SLEEPER.format(name=name, extra=""))
        parent = os.path.join(local.store().dir(name), "parent.json")
        os.makedirs(os.path.dirname(parent), exist_ok=True)
        plant(parent)
        for argv in (("status", "--local"), ("apply", "--local", "-y", f)):
            result = local.cli(*argv)
            assert result.returncode == 1, (argv, result.stderr)
            (line,) = result.stderr.splitlines()
            what = "a FIFO" if kind == "fifo" else "a directory"
            assert f"{parent} is damaged ({what} in place of the file arena-run wrote)" in line
        (os.rmdir if kind == "directory" else os.unlink)(parent)


def _state_file(store, which):
    (entry,) = store.objects("dmg")
    return {"parent": store.dir("dmg") + "/parent.json",
            "object": store.object_path("dmg", entry["object"]["kind"], "dmg"),
            "supervisor": store.dir("dmg") + "/supervisor.json"}[which]


@pytest.mark.parametrize("which", ["parent", "object", "supervisor"])
def test_a_fifo_in_place_of_a_state_file_is_one_line_never_a_hang(local, which):
    """A FIFO where a state file was blocked every reader until some writer came (status, plan, delete)."""
    running(local)
    path = _state_file(local.store(), which)
    os.unlink(path)
    os.mkfifo(path)
    pid = supervisors(local)[0]
    # status needs no supervisor record (the lock tells whether it lives); delete reads its pid
    args = ("delete", "--local", "-y", "dmg") if which == "supervisor" else ("status", "--local", "dmg")
    read = local.cli(*args, timeout=30)
    assert read.returncode == 1, read.stdout + read.stderr
    (line,) = read.stderr.splitlines()
    assert f"{path} is damaged (a FIFO in place of the file arena-run wrote)" in line
    if which == "supervisor":  # repaired by hand, delete works again
        os.unlink(path)
        write_json(path, {"pid": pid})
        assert local.cli("delete", "--local", "-y", "dmg").returncode == 0


def test_a_run_status_replaced_by_a_fifo_is_rewritten_by_its_supervisor(local):
    running(local)
    store = local.store()
    (entry,) = store.objects("dmg")
    path = store.run_dir("dmg", entry["uid"]) + "/status.json"
    os.unlink(path)
    os.mkfifo(path)
    assert local.status("dmg")["phase"] == "Running"
    assert read_json(path)["phase"] == "Running"


def test_a_state_file_replaced_by_a_link_is_not_read_through_it(local, tmp_path):
    running(local)
    path = local.store().dir("dmg") + "/parent.json"
    elsewhere = tmp_path / "elsewhere.json"
    os.replace(path, elsewhere)  # a valid record: only where it is differs
    os.symlink(elsewhere, path)
    status = local.cli("status", "--local", "dmg", timeout=30)
    assert status.returncode == 1
    (line,) = status.stderr.splitlines()
    assert f"{path} is damaged (a symbolic link in place of the file arena-run wrote)" in line


def test_a_fifo_in_place_of_the_supervisor_log_is_one_line(local):
    f = local.write("dmg", SLEEPER.format(name="dmg", extra=""))
    log = local.store().dir("dmg") + "/supervisor.log"
    os.makedirs(os.path.dirname(log))
    os.mkfifo(log)
    result = local.cli("apply", "--local", "-y", f, timeout=30)
    assert result.returncode == 1
    (line,) = [x for x in result.stderr.splitlines() if not x.startswith("note:")]
    assert f"{log} is a FIFO, not a file arena-run wrote: remove it, then apply again" in line
    # Refused before anything was recorded: nothing is left that no supervisor watches.
    assert supervisors(local) == [] and local.store().objects("dmg") == [] and local.store().names() == []


@pytest.mark.parametrize("damage", DAMAGES)
def test_adopt_writes_a_damaged_record_again_and_the_running_job_goes_on(local, damage):
    """Issue 18 item 9: `--adopt` could not recover a truncated parent.json, though its hint said so."""
    f = running(local)
    store = local.store()
    (before,) = store.objects("dmg")
    parent = store.dir("dmg") + "/parent.json"
    DAMAGES[damage][0](parent)
    plain = local.cli("apply", "--local", "-y", f)
    assert plain.returncode == 1 and "apply --local --adopt FILE writes it again" in plain.stderr
    adopted = local.cli("apply", "--local", "--adopt", "-y", f)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert "Started" not in adopted.stdout  # taken over, not started again
    (after,) = store.objects("dmg")
    assert after["uid"] == before["uid"] and after["created"] == before["created"]  # the same run
    assert store.parent("dmg") is not None  # whole again (a damaged one raises)
    assert local.status("dmg")["phase"] == "Running" and len(supervisors(local)) == 1
    plan = local.cli("plan", "--local", "--detailed-exitcode", f)
    assert plan.returncode == 0, plan.stdout + plan.stderr  # in sync again: nothing left to do


def test_a_job_that_ends_while_its_record_is_damaged_keeps_its_outcome(local):
    f = local.write("dmg", SLEEPER.format(name="dmg", extra="").replace("sleep 300", "sleep 1"))
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    store = local.store()
    (entry,) = store.objects("dmg")
    cut_short(store.dir("dmg") + "/parent.json")
    wait_until(lambda: (store.run_status("dmg", entry["uid"]) or {}).get("phase") in ("Succeeded", "Failed"),
               what="the job's end")
    assert store.run_status("dmg", entry["uid"])["phase"] == "Succeeded"
    assert local.cli("apply", "--local", "--adopt", "-y", f).returncode == 0
    assert local.status("dmg")["phase"] == "Succeeded"

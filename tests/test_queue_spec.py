"""[job] queue and queue_priority: Kueue's labels on the job, validated as the names they are."""

import json

import pytest

from arena_run.render import render
from arena_run.spec.errors import SpecError
from arena_run.spec.load import load_text

QUEUE = "kueue.x-k8s.io/queue-name"
PRIORITY = "kueue.x-k8s.io/priority-class"

KINDS = {
    "TFJob": 'type = "tf"\nps = 1\nchief = true\n',
    "PyTorchJob": 'type = "pytorch"\nworkers = 3\n',
    "MPIJob": 'type = "mpi"\nworkers = 2\n',
    "TrainJob": 'type = "pytorch"\nengine = "trainer"\nworkers = 2\n',
}


def text(job_keys: str, extra: str = "") -> str:
    return f'name = "exp"\n{extra}[job]\nimage = "i"\ncommand = "c"\n{job_keys}'


def problems(source: str) -> list[tuple[int, int, str, str]]:
    with pytest.raises(SpecError) as exc:
        load_text(source, "toml", "f")
    return [(p.line, p.column, p.path, p.message) for p in exc.value.problems]


def labelled_paths(obj, key, path=""):
    """Every path in obj under which a labels map holds key."""
    out = []
    if isinstance(obj, dict):
        if isinstance(obj.get("labels"), dict) and key in obj["labels"]:
            out.append(path + ".labels")
        for k, v in obj.items():
            out += labelled_paths(v, key, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += labelled_paths(v, key, f"{path}[{i}]")
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_queue_labels_are_on_the_job_only(kind):
    (job,) = render(load_text(text(KINDS[kind] + 'queue = "team-a"\nqueue_priority = "high"\n')))
    assert job["kind"] == kind
    assert job["metadata"]["labels"][QUEUE] == "team-a"
    assert job["metadata"]["labels"][PRIORITY] == "high"
    # Not on pod templates (nor TrainJob patches): Kueue admits the job, not its pods one by one.
    assert labelled_paths(job, QUEUE) == [".metadata.labels"]
    assert labelled_paths(job, PRIORITY) == [".metadata.labels"]


@pytest.mark.parametrize("kind", KINDS)
def test_arena_run_never_sets_suspend(kind):
    """Kueue suspends and resumes a queued job; arena-run leaves the field to it."""
    (job,) = render(load_text(text(KINDS[kind] + 'queue = "team-a"\n')))
    assert '"suspend"' not in json.dumps(job)


def test_without_queue_no_kueue_label():
    (job,) = render(load_text(text("")))
    assert not [k for k in job["metadata"]["labels"] if k.startswith("kueue.x-k8s.io/")]


def test_every_sweep_point_is_queued():
    jobs = render(load_text(text('command = "c {{lr}}"\nqueue = "q"\n', "").replace('command = "c"\n', "")
                            + "[sweep]\nlr = [1, 2, 3]\n"))
    assert len(jobs) == 3
    assert {j["metadata"]["labels"][QUEUE] for j in jobs} == {"q"}


@pytest.mark.parametrize("key", ["queue", "queue_priority"])
@pytest.mark.parametrize("value,message", [
    ("Team_A", "'Team_A' must be a lowercase Kubernetes name"),
    ("-a", "'-a' must be a lowercase Kubernetes name"),
    ("a" * 64, "is 64 characters; at most 63"),
    ("", "must be a lowercase Kubernetes name"),
])
def test_bad_names_are_located(key, value, message):
    extra = 'queue = "q"\n' if key == "queue_priority" else ""
    found = problems(text(f'{extra}{key} = "{value}"\n'))
    assert len(found) == 1, found
    line, column, path, text_ = found[0]
    assert (line, column, path) == (5 + bool(extra), len(key) + 4, f"job.{key}")
    assert message in text_


def test_a_dotted_name_is_a_name():
    (job,) = render(load_text(text('queue = "team-a.gpu"\n')))
    assert job["metadata"]["labels"][QUEUE] == "team-a.gpu"


def test_priority_without_queue_is_refused_at_its_key():
    assert problems(text('queue_priority = "high"\n')) == [
        (5, 18, "job.queue_priority",
         "a Kueue priority needs job.queue: Kueue leaves jobs without a queue alone")]


@pytest.mark.parametrize("label,key", [(QUEUE, "job.queue"), (PRIORITY, "job.queue_priority")])
def test_kueue_labels_by_hand_are_sent_to_the_keys(label, key):
    found = problems(text("", f'labels = {{ "{label}" = "q" }}\n'))
    assert [(p, m) for _, _, p, m in found] == [
        (f'labels."{label}"', f"set {key} instead: arena-run puts Kueue's label on the job only")]


def test_kueues_runtime_patch_is_not_a_change():
    """Kueue's webhook adds its own entry to a TrainJob's runtimePatches (a list
    keyed by manager), and fills it with the flavor's node selector at admission:
    arena-run compares only its own entry."""
    from arena_run.plan.diff import diff

    (desired,) = render(load_text(text(KINDS["TrainJob"] + 'queue = "team-a"\n')))
    live = json.loads(json.dumps(desired))
    live["spec"]["suspend"] = True
    live["spec"]["runtimePatches"].insert(0, {
        "manager": "kueue.x-k8s.io/manager",
        "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [{"name": "node", "template": {
            "spec": {"template": {"spec": {"nodeSelector": {"type": "kwok"}}}}}}]}}}})
    assert diff(desired["spec"], live["spec"]) == []
    # Our own entry is still compared.
    live["spec"]["runtimePatches"][1]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0][
        "template"]["spec"]["template"]["spec"]["volumes"] = []
    assert diff(desired["spec"], live["spec"]) != []

"""Rules that span keys or sections, checked once the types are right.

Each finding names the exact key it is about, so the user is sent to the
right line.  Rules a JSON Schema can express are also in the schema; the
rest (paths under mounts, placeholders, derived names) live only here.
"""

from __future__ import annotations

import posixpath
from typing import Any, Iterator, NamedTuple, Optional

from .errors import KeyPath, clip, shown
from .model import Data, Experiment, Job, Serve
from .names import KUEUE_LABELS, LABEL_PREFIX, MANAGED_BY, MAX_NAME, derived_names, replicas, repo_name
from .sweep import MAX_POINTS, PLACEHOLDER, canonical, count, placeholders, points

# Where `{{param}}` is replaced by a sweep value; anywhere else it would reach
# Kubernetes literally.  (Path patterns: "*" is any one key.)
SUBSTITUTED = [("job", "command"), ("job", "env", "*"), ("job", "roles", "*", "env", "*")]
# Kubernetes: a label key's prefix is a DNS subdomain of at most 253 characters.
MAX_LABEL_PREFIX = 253


class Finding(NamedTuple):
    path: KeyPath
    message: str
    at_key: bool = False  # about the key itself (it should not be there), not its value


def check(exp: Experiment) -> list[Finding]:
    return list(_check(exp))


def _check(exp: Experiment) -> Iterator[Finding]:
    if not (exp.job or exp.serve or exp.tensorboard):
        yield Finding(("job",), "nothing to run: add a [job], [serve] or [tensorboard] table")
    for key in exp.labels:
        if key == MANAGED_BY or key.startswith(LABEL_PREFIX):
            yield Finding(("labels", key), f"{clip(key)} is set by arena-run itself", at_key=True)
        elif key in KUEUE_LABELS:
            # labels reach every object and pod; Kueue's belong on the job alone.
            yield Finding(("labels", key), f"set {KUEUE_LABELS[key]} instead: arena-run puts Kueue's label "
                          "on the job only", at_key=True)
    yield from _label_keys(exp)
    yield from _paths(exp)
    yield from _literal_placeholders(exp)
    yield from _nul(exp)
    if exp.code:
        yield from _code(exp)
    yield from _data(exp)
    if exp.job:
        yield from _job(exp.job)
        if exp.code and is_trainjob(exp.job):
            yield Finding(("code",), "code sync needs an init container, and Trainer v2.3's runtimePatches only "
                          "patch the runtime's own containers: put the code in job.image, or use "
                          "engine = \"operator\"")
        yield from _placeholders(exp)
    if exp.sweep:
        yield from _sweep(exp)
    if exp.tensorboard:
        yield from _under_mount(("tensorboard", "logdir"), exp.tensorboard.logdir, exp.data, "TensorBoard can read it")
    if exp.serve:
        yield from _serve(exp.serve, exp.data)
    if exp.sweep and count(exp.sweep) > MAX_POINTS:
        return  # names of thousands of points would drown the one real problem
    for name in derived_names(exp):
        if len(name) > MAX_NAME:
            yield Finding(
                ("name",),
                f"derived name {name!r} is {len(name)} characters, over Kubernetes' {MAX_NAME}; "
                f"shorten name by {len(name) - MAX_NAME}",
            )
            break


def _code(exp: Experiment) -> Iterator[Finding]:
    code = exp.code
    assert code is not None
    if not exp.job:
        yield Finding(("code",), "code is synced into the job's pods: add a [job]")
    if code.git is None and code.rsync is None:
        yield Finding(("code", "git"), "missing: set one of code.git or code.rsync")
    elif code.git is not None and code.rsync is not None:
        yield Finding(("code", "rsync"), "code.git and code.rsync are exclusive: keep one")
    elif code.rsync is not None:
        for key in ("ref", "secret", "depth"):
            if key in code.model_fields_set:
                yield Finding(("code", key), "only for code.git, not rsync", at_key=True)
        if _rsync_host(code.rsync).startswith("-"):
            yield Finding(("code", "rsync"), "rsync and ssh would read its host as an option")
    if code.git is not None and repo_name(code.git) in ("", ".", ".."):
        yield Finding(("code", "git"), f"the checkout would land in <working_dir>/code/{repo_name(code.git)}: "
                      "name the repository itself")
    if code.ref is not None and not _ref_format(code.ref):
        yield Finding(("code", "ref"), "git takes no branch, tag or commit spelled this way "
                      "(no '..', '@{', '//', a part starting with '.' or ending in '.lock', a final '/' or '.')")


def _rsync_host(source: str) -> str:
    """The host of a remote rsync source (`[user@]host:path`, `host::module`, `rsync://[user@]host/`), else ''."""
    if source.startswith("rsync://"):
        rest = source[len("rsync://"):].split("/", 1)[0]
    elif ":" in source.split("/", 1)[0]:
        rest = source.split(":", 1)[0]
    else:
        return ""
    return rest.rsplit("@", 1)[-1]


def _ref_format(ref: str) -> bool:
    """git check-ref-format's rules beyond GIT_REF_RE's characters."""
    if ".." in ref or "@{" in ref or "//" in ref or ref.endswith(("/", ".")) or ref == "@":
        return False
    return not any(part.startswith(".") or part.endswith(".lock") for part in ref.split("/"))


def _data(exp: Experiment) -> Iterator[Finding]:
    seen: dict[str, int] = {}
    reserved = {"/dev/shm": "the shared-memory volume"}
    if exp.job and exp.code:
        reserved[clean_path(posixpath.join(exp.job.working_dir, "code"))] = "the code checkout"
    for i, d in enumerate(exp.data):
        if d.pvc is None and d.host_path is None:
            yield Finding(("data", i, "pvc"), "missing: set one of pvc or host_path")
        elif d.pvc is not None and d.host_path is not None:
            yield Finding(("data", i, "host_path"), "pvc and host_path are exclusive: keep one")
        mount = clean_path(d.mount)
        if mount in seen:
            yield Finding(("data", i, "mount"), f"{clip(mount)} is already mounted by data[{seen[mount]}]")
        elif mount in reserved:
            yield Finding(("data", i, "mount"), f"{clip(mount)} is taken by {reserved[mount]}")
        seen.setdefault(mount, i)


TF_ONLY = ("ps", "chief", "evaluator", "success_policy")
MPI_ONLY = ("slots_per_worker", "mpi_implementation", "ssh_auth_mount_path")
# Job keys a TrainJob has no field for: Trainer v2.3 takes them from the runtime,
# and its runtimePatches may set only volumes, env, volume mounts, scheduling and
# pull secrets.
NOT_FOR_TRAINER = {
    "restart_policy": "a TrainJob has no restart policy: its runtime's JobSet decides",
    "clean_pod_policy": "a TrainJob has no clean-pod policy",
    "ttl_after_finished": "a TrainJob has no TTL",
    "backoff_limit": "a TrainJob has no backoff limit: its runtime's failure policy decides",
    "image_pull_policy": "Trainer v2.3's runtimePatches cannot set a container's imagePullPolicy",
    "priority_class": "Trainer v2.3's runtimePatches cannot set a pod's priorityClassName",
}


def is_trainjob(job: Job) -> bool:
    return job.type == "pytorch" and job.engine == "trainer"


def _job(job: Job) -> Iterator[Finding]:
    given = job.model_fields_set
    if job.type != "tf":
        for key in TF_ONLY:
            if key in given:
                yield Finding(("job", key), f"only for tf jobs, not {job.type}", at_key=True)
    if job.type != "mpi":
        for key in MPI_ONLY:
            if key in given:
                yield Finding(("job", key), f"only for mpi jobs, not {job.type}", at_key=True)
    if job.engine == "trainer" and job.type != "pytorch":
        yield Finding(("job", "engine"), f"engine = \"trainer\" runs PyTorch (Kubeflow Trainer's TrainJob), "
                                         f"not {job.type}: set job.type = \"pytorch\" or leave engine out")
    if job.queue_priority is not None and job.queue is None:
        yield Finding(("job", "queue_priority"), "a Kueue priority needs job.queue: Kueue leaves jobs "
                      "without a queue alone")
    if "runtime" in given and job.engine != "trainer":
        yield Finding(("job", "runtime"), "only with engine = \"trainer\"", at_key=True)
    if is_trainjob(job):
        for key, why in NOT_FOR_TRAINER.items():
            if key in given:
                yield Finding(("job", key), why + " (engine = \"trainer\")", at_key=True)
    if job.type == "mpi" and job.restart_policy not in ("Never", "OnFailure"):
        yield Finding(("job", "restart_policy"), "the mpi-operator restarts pods Never or OnFailure only")
    have = {r.key for r in replicas(job)}
    for key in job.roles.model_fields_set:
        if key not in have:
            yield Finding(("job", "roles", key), _missing_role(job, key), at_key=True)


def _missing_role(job: Job, key: str) -> str:
    if is_trainjob(job):
        return "a TrainJob's nodes are all alike: no per-role overrides with engine = \"trainer\""
    if job.type == "mpi":
        return f"mpi jobs have no {key} role (they have launcher and worker)"
    if key == "launcher":
        return f"only mpi jobs have a launcher, not {job.type}"
    if job.type == "pytorch" and key in ("ps", "chief", "evaluator"):
        return f"pytorch jobs have no {key} role"
    if job.type == "tf" and key == "master":
        return "tf jobs have no master role (did you mean chief?)"
    if key == "worker":
        return "this pytorch job is a lone master (workers = 1): raise job.workers"
    if key == "ps":
        return "the job has no parameter servers: set job.ps"
    return f"the job has no {key}: set job.{key} = true"


def _placeholders(exp: Experiment) -> Iterator[Finding]:
    job = exp.job
    assert job is not None
    texts: list[tuple[KeyPath, str]] = [(("job", "command"), job.command)]
    texts += [(("job", "env", k), v) for k, v in job.env.items()]
    for key in job.roles.model_fields_set:
        role = getattr(job.roles, key)
        texts += [(("job", "roles", key, "env", k), v) for k, v in role.env.items()]
    for path, text in texts:
        for name in placeholders(text):
            if name not in exp.sweep:
                import difflib

                hint = difflib.get_close_matches(name, list(exp.sweep), n=1)
                more = f"; did you mean {{{{{hint[0]}}}}}?" if hint else " (there is no [sweep])" if not exp.sweep else ""
                yield Finding(path, f"{{{{{clip(name)}}}}} names no [sweep] parameter{more}")
    if exp.sweep:
        envs: list[tuple[KeyPath, dict[str, Any]]] = [(("job", "env"), job.env)]
        envs += [(("job", "roles", key, "env"), getattr(job.roles, key).env) for key in job.roles.model_fields_set]
        for base, env in envs:
            for k in env:
                if k.startswith("ARENA_PARAM_") and k[len("ARENA_PARAM_"):].lower() in exp.sweep:
                    yield Finding(base + (k,), f"{k} is set by the sweep for each point", at_key=True)


def _sweep(exp: Experiment) -> Iterator[Finding]:
    if not exp.job:
        yield Finding(("sweep",), "a sweep runs one job per point: add a [job]")
    repeated = False
    for key, values in exp.sweep.items():
        seen: dict[str, int] = {}
        for i, v in enumerate(values):
            ident = canonical({key: v})  # the value itself, not a hash of it that two values may share
            if ident in seen:
                repeated = True
                yield Finding(("sweep", key, i), f"{shown(v)} repeats sweep.{key}[{seen[ident]}]")
            seen.setdefault(ident, i)
    n = count(exp.sweep)
    if n > MAX_POINTS:
        yield Finding(("sweep",), f"the grid has {n} points; at most {MAX_POINTS} jobs per experiment")
    elif not repeated and len({p.suffix for p in points(exp.sweep)}) != n:  # pragma: no cover - a 64-bit collision
        yield Finding(("sweep",), "two points hash to the same name; rename a parameter")


# Serve keys and the serve types that have them.
SERVE_KEYS = {
    "storage_uri": ("kserve",), "model_format": ("kserve",), "model_format_version": ("kserve",),
    "runtime": ("kserve",), "min_replicas": ("kserve",), "max_replicas": ("kserve",),
    "image": ("tf-serving", "custom"), "replicas": ("tf-serving", "custom"), "service": ("tf-serving", "custom"),
    "command": ("custom",), "port": ("custom",), "env": ("custom",),
    "model_path": ("tf-serving", "kserve"), "model_name": ("tf-serving", "kserve"),
}


def _serve(serve: Serve, data: list[Data]) -> Iterator[Finding]:
    for key, types in SERVE_KEYS.items():
        if key in serve.model_fields_set and serve.type not in types:
            yield Finding(("serve", key), "only for serve.type = " + " or ".join(repr(t) for t in types),
                          at_key=True)
    if serve.type == "custom":
        if serve.image is None:
            yield Finding(("serve", "image"), "missing: the image of your server (serve.type = 'custom')")
        if serve.port is None:
            yield Finding(("serve", "port"), "missing: the port your server listens on (serve.type = 'custom')")
        return
    if serve.type == "tf-serving":
        if serve.model_path is None:
            yield Finding(("serve", "model_path"), "missing: tf-serving loads the model from a [[data]] mount")
        else:
            yield from _under_mount(("serve", "model_path"), serve.model_path, data, "the server can read it")
        return
    if serve.storage_uri is None:
        if serve.model_path is None:
            yield Finding(("serve", "storage_uri"), "missing: set storage_uri, or model_path on a PVC mount")
        else:
            mount = mount_of(serve.model_path, data)
            if mount is None or mount.pvc is None:
                yield Finding(
                    ("serve", "model_path"),
                    "kserve reads models from a PVC, not a host path: put it under a pvc mount or set storage_uri",
                )
    elif serve.model_path is not None:
        yield Finding(("serve", "model_path"), "storage_uri and model_path are exclusive for kserve: keep one")
    lo, hi = serve.min_replicas, serve.max_replicas
    if lo is not None and hi is not None and hi < lo:
        yield Finding(("serve", "max_replicas"), f"{hi} is below min_replicas ({lo})")


def mount_of(path: str, data: list[Data]) -> Optional[Data]:
    """The [[data]] entry whose mount holds path (the deepest one)."""
    path = clean_path(path)
    best: Optional[Data] = None
    for d in data:
        mount = clean_path(d.mount)
        if (path == mount or path.startswith(mount.rstrip("/") + "/")) and (
            best is None or len(mount) > len(clean_path(best.mount))
        ):
            best = d
    return best


def clean_path(path: str) -> str:
    """One spelling of an absolute path: `//data/` and `/./data` are `/data`.

    posixpath.normpath keeps a leading `//` (POSIX leaves its meaning open),
    so `//dev/shm` passed the reserved-path check; `..` is refused elsewhere.
    """
    return "/" + "/".join(part for part in path.split("/") if part not in ("", "."))


def _under_mount(path: KeyPath, value: str, data: list[Data], why: str) -> Iterator[Finding]:
    if mount_of(value, data) is None:
        have = ", ".join(clip(d.mount) for d in data[:10]) or "none"
        yield Finding(path, f"{clip(value)} must lie under a [[data]] mount so {why} (mounts: {have})")


def _paths(exp: Experiment) -> Iterator[Finding]:
    """`..` in a path: Kubernetes refuses it in mounts, sub-paths and host paths, and
    in a model or log path it would leave the mount it was checked to lie under."""
    paths: list[tuple[KeyPath, Optional[str]]] = []
    for i, d in enumerate(exp.data):
        paths += [(("data", i, "mount"), d.mount), (("data", i, "host_path"), d.host_path),
                  (("data", i, "sub_path"), d.sub_path)]
    if exp.serve:
        paths.append((("serve", "model_path"), exp.serve.model_path))
    if exp.tensorboard:
        paths.append((("tensorboard", "logdir"), exp.tensorboard.logdir))
    for path, value in paths:
        if value is not None and ".." in value.split("/"):
            yield Finding(path, "'..' is not allowed in this path: name the directory itself")


def _label_keys(exp: Experiment) -> Iterator[Finding]:
    maps: list[tuple[KeyPath, dict[str, Any]]] = [(("labels",), exp.labels)]
    if exp.job:
        maps.append((("job", "node_selector"), exp.job.node_selector))
        for key in exp.job.roles.model_fields_set:
            selector = getattr(exp.job.roles, key).node_selector
            if selector:
                maps.append((("job", "roles", key, "node_selector"), selector))
    for base, labels in maps:
        for key in labels:
            prefix = key.rpartition("/")[0]
            if len(prefix) > MAX_LABEL_PREFIX:
                yield Finding(base + (key,), f"the prefix before '/' is {len(prefix)} characters; "
                              f"Kubernetes takes at most {MAX_LABEL_PREFIX}", at_key=True)


def _strings(exp: Experiment) -> Iterator[tuple[KeyPath, str]]:
    """Every string the file set, with its key path (the rules below that read any string)."""
    stack: list[tuple[KeyPath, object]] = [((), exp.model_dump(exclude_defaults=True))]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack += [(path + (k,), v) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [(path + (i,), v) for i, v in enumerate(node)]
        elif isinstance(node, str):
            yield path, node


def _literal_placeholders(exp: Experiment) -> Iterator[Finding]:
    """`{{x}}` where nothing replaces it: it would reach Kubernetes as written."""
    for path, text in _strings(exp):
        match = None if _substituted(path) else PLACEHOLDER.search(text)
        if match:
            yield Finding(path, f"{clip(match[0])} is not replaced here: only job.command and env values "
                          "take sweep parameters")


def _nul(exp: Experiment) -> Iterator[Finding]:
    """A NUL cannot be in a command, an environment or a path: the kernel ends the string there."""
    for path, text in _strings(exp):
        if "\0" in text:
            yield Finding(path, "a NUL character (\\u0000) cannot reach a command, environment or path")


def _substituted(path: KeyPath) -> bool:
    return any(len(p) == len(path) and all(a in ("*", b) for a, b in zip(p, path)) for p in SUBSTITUTED)

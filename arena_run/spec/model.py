"""The pydantic models of arena.toml: its one source of truth.

Field descriptions are the file reference: they are what `arena-run schema`
emits, what editors show on hover, and what docs/reference.md is made from.
Rules that span sections (a logdir under a data mount, `{{x}}` naming a sweep
parameter, tf-only keys) live in rules.py, where each can name its exact key.
"""

# No `from __future__ import annotations`: pydantic would then eval() every
# annotation string at start-up, a measurable share of `validate`'s time.
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from .types import (
    DNS1035_LABEL_RE,
    RECORD,
    SWEEP_PARAM_RE,
    AbsPath,
    Count,
    PositiveCount,
    Port,
    Duration,
    EnvName,
    Label,
    LabelKey,
    LabelValue,
    LabelledName,
    Quantity,
    ResourceName,
    SweepValue,
)

# Defaults a data scientist should not have to know; each overridable.
GIT_SYNC_IMAGE = "registry.k8s.io/git-sync/git-sync:v4.4.2"
RSYNC_IMAGE = "instrumentisto/rsync-ssh:alpine3.20"
TENSORBOARD_IMAGE = "tensorflow/tensorflow:2.16.1"
TF_SERVING_IMAGE = "tensorflow/serving:2.16.1"
# Kubeflow Trainer's ClusterTrainingRuntime for PyTorch (manifests/base/runtimes).
TRAINER_RUNTIME = "torch-distributed"

# Only transports that fetch (never ext:: or fd::, which run a command), and no
# user, host or path that git or ssh would read as an option (`ssh://-oProxyCommand=...`).
GIT_URL_RE = (r"^((https?|ssh|git|file)://(([^\s/@-][^\s/@]*@)?[^\s/@-][^\s/@]*(/\S*)?|/\S*)"
              r"|[A-Za-z0-9_.][A-Za-z0-9_.-]*@[A-Za-z0-9_.][A-Za-z0-9_.-]*:[^\s-]\S*)$")
# A branch, tag or commit: nothing git would read as an option (a leading '-'),
# a forced refspec ('+') or a refspec's parts (':', '*'); rules.py checks the rest
# of git check-ref-format (`..`, `@{`, `.lock`).
GIT_REF_RE = r"^[^\s~^:?*\[\\+-][^\s~^:?*\[\\]*$"
# An rsync source: nothing rsync would read as an option.
RSYNC_SOURCE_RE = r"^[^-]"
MODEL_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


def _d(text: str, **kw: Any) -> Any:  # Any: what Field returns, so each field keeps its annotated type
    return Field(description=text, **kw)


class Spec(BaseModel):
    """Base of every table: unknown keys are errors, so typos never pass silently."""

    # strict: TOML and YAML have real types, so "1" is not silently an integer
    # (and the JSON Schema, which cannot coerce, gives the same verdict).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


def _one_of(*keys: str) -> ConfigDict:
    # The schema says "exactly one of" too, so editors flag it while typing.
    return ConfigDict(json_schema_extra={"oneOf": [{"required": [k]} for k in keys]})


class Code(Spec):
    """How the code reaches the pods (Arena --syncMode/--syncSource)."""

    model_config = _one_of("git", "rsync")

    git: Optional[Annotated[str, Field(pattern=GIT_URL_RE)]] = _d(
        "Git repository to clone; the checkout lands at `<job.working_dir>/code/<repo name>`. "
        "Exactly one of `git` and `rsync`.",
        default=None,
    )
    rsync: Optional[Annotated[str, Field(min_length=1, pattern=RSYNC_SOURCE_RE)]] = _d(
        "rsync source (`host::module/path` or `rsync://...`) copied to `<job.working_dir>/code`; "
        "with `--local` also a directory of this machine (relative: to this file). "
        "Exactly one of `git` and `rsync`.",
        default=None,
    )
    ref: Optional[Annotated[str, Field(min_length=1, pattern=GIT_REF_RE)]] = _d(
        "Git branch, tag or commit to check out (default: the remote's HEAD).", default=None
    )
    secret: Optional[ResourceName] = _d(
        "Name of a Secret with keys `username` and `password` for the git remote. "
        "Credentials are never written in the file.",
        default=None,
    )
    depth: Count = _d(
        "Git clone depth; 0 clones the whole history.", default=1
    )
    image: Optional[Annotated[str, Field(min_length=1)]] = _d(
        f"Image of the sync init container (default `{GIT_SYNC_IMAGE}` for git, "
        f"`{RSYNC_IMAGE}` for rsync).",
        default=None,
    )


class Data(Spec):
    """A volume mounted into every replica (Arena --data pvc:mount, --data-dir host:mount)."""

    model_config = _one_of("pvc", "host_path")

    pvc: Optional[ResourceName] = _d(
        "Name of a PersistentVolumeClaim in the experiment's namespace. Exactly one of `pvc` and `host_path`.",
        default=None,
    )
    host_path: Optional[AbsPath] = _d(
        "A directory on the node. Exactly one of `pvc` and `host_path`.", default=None
    )
    mount: AbsPath = _d("Absolute path where the volume appears in the containers; unique across [[data]].")
    sub_path: Optional[Annotated[str, Field(pattern=r"^[^/].*$")]] = _d(
        "Mount only this relative path inside the volume.", default=None
    )
    read_only: bool = _d("Mount the volume read-only.", default=False)


class Toleration(Spec):
    """A Kubernetes toleration, so replicas may run on tainted (e.g. GPU) nodes."""

    key: Optional[Annotated[str, Field(min_length=1)]] = _d(
        "Taint key to tolerate; omit with operator Exists to tolerate every taint.", default=None
    )
    operator: Literal["Equal", "Exists"] = _d("`Equal` matches `value`; `Exists` any value.", default="Equal")
    value: Optional[str] = _d("Taint value, with operator Equal.", default=None)
    effect: Optional[Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]] = _d(
        "Taint effect to tolerate; omit to tolerate all effects.", default=None
    )
    seconds: Optional[Count] = _d(
        "With effect NoExecute: how long the pod stays bound after the taint appears.", default=None
    )


class Role(Spec):
    """Overrides for the replicas of one role (Arena --ps-image, --worker-cpu, ...)."""

    image: Optional[Annotated[str, Field(min_length=1)]] = _d("Image for this role.", default=None)
    gpus: Optional[Count] = _d("GPUs per replica of this role.", default=None)
    cpu: Optional[Quantity] = _d("CPU per replica of this role (requests and limits).", default=None)
    memory: Optional[Quantity] = _d("Memory per replica of this role (requests and limits).", default=None)
    node_selector: Optional[dict[LabelKey, LabelValue]] = _d(
        "Node labels this role's pods require (replaces the job's).", default=None
    )
    env: dict[EnvName, str] = _d("Environment added to this role's containers (over the job's).", default_factory=dict)


class Roles(Spec):
    """Per-role overrides; a role may be overridden only if the job has it."""

    worker: Optional[Role] = _d("Workers (tf, pytorch and mpi).", default=None)
    ps: Optional[Role] = _d("Parameter servers (tf; GPUs 0 unless set here).", default=None)
    chief: Optional[Role] = _d("The chief (tf).", default=None)
    evaluator: Optional[Role] = _d("The evaluator (tf).", default=None)
    master: Optional[Role] = _d("The master, replica 0 (pytorch).", default=None)
    launcher: Optional[Role] = _d("The launcher, which runs `command` (mpi; GPUs 0 unless set here).", default=None)


class Job(Spec):
    """The training job (Arena submit tf / submit pytorch / submit mpi)."""

    type: Literal["tf", "pytorch", "mpi"] = _d(
        "`tf` renders a TFJob, `pytorch` a PyTorchJob (both kubeflow.org/v1) or with `engine = \"trainer\"` "
        "a TrainJob, `mpi` an MPIJob (kubeflow.org/v2beta1, mpi-operator: Horovod and other MPI programs).",
        default="tf",
    )
    engine: Literal["operator", "trainer"] = _d(
        "pytorch only: `operator` renders a PyTorchJob for the Kubeflow training operator v1; `trainer` a "
        "TrainJob (trainer.kubeflow.org/v1alpha1) for Kubeflow Trainer v2, on the ClusterTrainingRuntime `runtime`.",
        default="operator",
    )
    runtime: Optional[ResourceName] = _d(
        f"engine trainer only: the ClusterTrainingRuntime the TrainJob runs on (default `{TRAINER_RUNTIME}`); it "
        "must have a replicated job `node` with a container `node`, as Trainer's own runtimes do.",
        default=None,
    )
    image: Annotated[str, Field(min_length=1)] = _d("Container image of the training code.")
    command: Annotated[str, Field(min_length=1)] = _d(
        "Shell command run in `working_dir`; may say `{{param}}` for a [sweep] parameter."
    )
    working_dir: AbsPath = _d("Working directory; the code lands in `<working_dir>/code`.", default="/root")
    gpus: Count = _d(
        "GPUs (`nvidia.com/gpu`) per worker, chief, evaluator and master; parameter servers get none.", default=0
    )
    workers: PositiveCount = _d(
        "Worker replicas. For pytorch this counts the master too, as in Arena: 3 = 1 master + 2 workers "
        "(with engine trainer: the TrainJob's `numNodes`). For mpi, the workers besides the launcher.",
        default=1,
    )
    ps: Count = _d("Parameter-server replicas (tf only).", default=0)
    chief: bool = _d("Add a chief replica (tf only).", default=False)
    evaluator: bool = _d("Add an evaluator replica (tf only).", default=False)
    cpu: Optional[Quantity] = _d("CPU per replica, requests and limits (e.g. `4`, `500m`).", default=None)
    memory: Optional[Quantity] = _d("Memory per replica, requests and limits (e.g. `16Gi`).", default=None)
    shm: Quantity = _d("Size of the in-memory /dev/shm.", default="2Gi")
    env: dict[EnvName, str] = _d(
        "Environment of every replica; values may say `{{param}}`.", default_factory=dict
    )
    node_selector: dict[LabelKey, LabelValue] = _d("Node labels the pods require.", default_factory=dict)
    tolerations: list[Toleration] = _d("Taints the pods tolerate.", default_factory=list)
    priority_class: Optional[ResourceName] = _d("PriorityClass of the pods.", default=None)
    queue: Optional[LabelledName] = _d(
        "Kueue LocalQueue (in the experiment's namespace) the job waits in until Kueue admits all of it at once "
        "(Arena --queue); every sweep point joins it. Kueue decides when the job runs: it holds the job "
        "suspended while queued and may set node selectors of the admitting flavor, which arena-run leaves alone.",
        default=None,
    )
    queue_priority: Optional[LabelledName] = _d(
        "Kueue WorkloadPriorityClass of the job: its order in the queue, and which workloads it may preempt "
        "(Kueue's own priority, apart from `priority_class`).",
        default=None,
    )
    image_pull_secrets: list[ResourceName] = _d("Secrets used to pull the images.", default_factory=list)
    image_pull_policy: Optional[Literal["Always", "IfNotPresent", "Never"]] = _d(
        "When to pull images (Kubernetes' default if omitted).", default=None
    )
    restart_policy: Literal["Never", "OnFailure", "ExitCode", "Always"] = _d(
        "Restart policy of workers and the master; ps, chief and evaluator never restart.", default="Never"
    )
    clean_pod_policy: Literal["Running", "All", "None"] = _d(
        "Which pods to delete when the job finishes (Arena --clean-task-policy).", default="Running"
    )
    ttl_after_finished: Optional[Duration] = _d(
        "Delete the finished job after this long (seconds, or `90s`, `30m`, `12h`, `7d`).", default=None
    )
    active_deadline: Optional[Duration] = _d(
        "Fail the job if it runs longer than this (Arena --running-timeout).", default=None
    )
    backoff_limit: Optional[Count] = _d(
        "Retries before the job is marked failed.", default=None
    )
    slots_per_worker: Optional[PositiveCount] = _d(
        "mpi only: MPI slots (processes) per worker (default: the worker's GPUs, at least 1).", default=None
    )
    mpi_implementation: Literal["OpenMPI", "Intel", "MPICH"] = _d(
        "mpi only: the MPI implementation in the image; it decides the hostfile format and environment.",
        default="OpenMPI",
    )
    ssh_auth_mount_path: AbsPath = _d(
        "mpi only: where the SSH keys the launcher uses to reach the workers are mounted.", default="/root/.ssh"
    )
    success_policy: Optional[Literal["AllWorkers"]] = _d(
        "tf only: `AllWorkers` succeeds when every worker does (default: when worker 0 or the chief does).",
        default=None,
    )
    roles: Roles = _d("Per-role overrides: `[job.roles.ps]`, `[job.roles.worker]`, ...", default_factory=Roles)


class TensorBoard(Spec):
    """A TensorBoard reading the job's logs (Arena --tensorboard --logdir)."""

    logdir: AbsPath = _d("Event-file directory; must lie under a [[data]] mount so TensorBoard can read it.")
    service: Literal["ClusterIP", "NodePort"] = _d(
        "How TensorBoard is exposed: `NodePort` gives a URL on any node's address.", default="ClusterIP"
    )
    image: Annotated[str, Field(min_length=1)] = _d("TensorBoard image.", default=TENSORBOARD_IMAGE)
    cpu: Optional[Quantity] = _d("CPU for TensorBoard.", default=None)
    memory: Optional[Quantity] = _d("Memory for TensorBoard.", default=None)


class Serve(Spec):
    """Serving the trained model (Arena serve tensorflow / serve kserve / serve custom)."""

    type: Literal["tf-serving", "kserve", "custom"] = _d(
        "`tf-serving`: a Deployment and Service (gRPC 8500, REST 8501); "
        "`kserve`: an InferenceService (serving.kserve.io/v1beta1); "
        "`custom`: your own server image, a Deployment and Service on `port`.",
        default="tf-serving",
    )
    model_name: Optional[Annotated[str, Field(pattern=MODEL_NAME_RE)]] = _d(
        "Name the model is served under (default: the experiment's name).", default=None
    )
    model_path: Optional[AbsPath] = _d(
        "Model directory under a [[data]] mount. Required for tf-serving; for kserve, a path "
        "on a PVC mount becomes `storage_uri = pvc://<claim>/<path>`.",
        default=None,
    )
    storage_uri: Optional[Annotated[str, Field(pattern=r"^[a-z0-9+.-]+://\S+$")]] = _d(
        "kserve only: where the model is (`s3://`, `gs://`, `pvc://`, `https://`).", default=None
    )
    model_format: Annotated[str, Field(min_length=1)] = _d(
        "kserve only: model format (`tensorflow`, `pytorch`, `sklearn`, `onnx`, ...).", default="tensorflow"
    )
    model_format_version: Optional[Annotated[str, Field(min_length=1)]] = _d(
        "kserve only: version of the model format.", default=None
    )
    runtime: Optional[ResourceName] = _d("kserve only: a ServingRuntime to use.", default=None)
    command: Optional[Annotated[str, Field(min_length=1)]] = _d(
        "custom only: shell command that starts the server (default: the image's entrypoint).", default=None
    )
    port: Optional[Port] = _d(
        "custom only (required there): the port the server listens on; the Service exposes it.", default=None
    )
    env: dict[EnvName, str] = _d("custom only: environment of the server.", default_factory=dict)
    replicas: Count = _d("tf-serving and custom: server replicas.", default=1)
    min_replicas: Optional[Count] = _d(
        "kserve only: fewest replicas (0 scales to zero; default 1).", default=None
    )
    max_replicas: Optional[PositiveCount] = _d(
        "kserve only: most replicas (default: min_replicas).", default=None
    )
    image: Optional[Annotated[str, Field(min_length=1)]] = _d(
        f"tf-serving: server image (default `{TF_SERVING_IMAGE}`); custom: the server's image (required).",
        default=None,
    )
    gpus: Count = _d("GPUs per server replica.", default=0)
    cpu: Optional[Quantity] = _d("CPU per server replica.", default=None)
    memory: Optional[Quantity] = _d("Memory per server replica.", default=None)
    service: Literal["ClusterIP", "NodePort"] = _d(
        "tf-serving and custom: how the Service is exposed.", default="ClusterIP"
    )


SweepParam = Annotated[str, Field(pattern=SWEEP_PARAM_RE)]


class Experiment(Spec):
    """An arena-run experiment: data, code, a training job, TensorBoard, serving, sweeps."""

    model_config = ConfigDict(title="arena.toml", json_schema_extra={"$comment": "Generated by `arena-run schema`; do not edit."})

    name: Annotated[str, Field(pattern=DNS1035_LABEL_RE, max_length=63)] = _d(
        "Names every object: the job `<name>`, `<name>-tensorboard`, `<name>-serving`. "
        "A lowercase DNS label starting with a letter."
    )
    namespace: Optional[Label] = _d(
        "Namespace; at apply time `--namespace` wins, then this, then the kube context, then `default`.",
        default=None,
    )
    labels: dict[LabelKey, LabelValue] = _d("Extra labels on every object and pod.", default_factory=dict)
    code: Optional[Code] = _d("Code sync into the pods.", default=None)
    data: list[Data] = _d("Volumes mounted into every replica.", default_factory=list)
    job: Optional[Job] = _d("The training job.", default=None)
    tensorboard: Optional[TensorBoard] = _d("Present = a TensorBoard is deployed.", default=None)
    serve: Optional[Serve] = _d("Present = the model is served.", default=None)
    sweep: dict[SweepParam, Annotated[list[SweepValue], Field(min_length=1)]] = _d(
        "Hyperparameter grid: one job per point of the Cartesian product. The command says `{{lr}}`; "
        "each point also gets env `ARENA_PARAM_LR`. Values are substituted as written (`1e-5`, `0.10`).",
        default_factory=dict,
    )

    def to_json(self) -> str:
        """The experiment as JSON, as the ApplySet parent records it (absent keys left out).

        A sweep float spelled otherwise than Python would is recorded as
        `{"$float": "1e-5"}` (types.SweepValue), so what is re-rendered from the
        record is what was applied, and a respelling changes the spec hash.
        """
        return self.model_dump_json(exclude_none=True, context={RECORD: True})

    @classmethod
    def from_json(cls, text: str) -> "Experiment":
        """A record of to_json's, or of an older version's (plain numbers: Python's spelling)."""
        return cls.model_validate_json(text, strict=False, context={RECORD: True})

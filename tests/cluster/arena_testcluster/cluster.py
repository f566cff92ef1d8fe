"""`up` and `down` for a local control plane, and the handle tests use.

Layout of DIR (nothing else in DIR is touched, so `down` is safe anywhere):
  cluster.json          what `up` started: server, ports, binaries, versions
  kubeconfig            admin (O=system:masters)
  kubeconfig-limited    a user whose RBAC allows only LIMITED_NAMESPACE
  pki/ etcd-data/ certs/ logs/   data; *.pid  one per daemon
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import build, certs, gomodules, procs, versions

LIMITED_NAMESPACE = "arena-limited"
# A /16: bench/ applies hundreds of experiments with TensorBoard Services (a
# /24 holds 254), and deleted namespaces give their addresses back only later.
SERVICE_CIDR = "10.0.0.0/16"
SERVICE_IP = "10.0.0.1"  # first address of SERVICE_CIDR: the kubernetes Service
POD_CIDR = "10.244.0.0/16"
# Two fake GPU nodes, as in the issue: name -> nvidia.com/gpu count.
GPU_NODES = {"gpu-node-8": 8, "gpu-node-4": 4}
KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")

# Start order; `down` stops in reverse.
DAEMONS = ["etcd", "kube-apiserver", "kube-scheduler", "kwok", "kube-controller-manager",
           "training-operator", "mpi-operator", "jobset-controller", "trainer-controller-manager", "kueue"]
# The label by which a job joins a Kueue queue.
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
# The training operator's validating webhooks (paths from its kubebuilder markers).
OPERATOR_WEBHOOKS = {"tfjobs": "/validate-kubeflow-org-v1-tfjob",
                     "pytorchjobs": "/validate-kubeflow-org-v1-pytorchjob"}
# Bumped when `up` starts something new that tests rely on, so that a control
# plane left running by an older `up` (ARENA_RUN_TEST_CLUSTER) is refused.
FORMAT = 6  # 4: kwok serves pod logs (Logs CRD); 5: mpi-operator, JobSet, Trainer v2; 6: Kueue
# Everything `up` creates in DIR, which is all `down` removes.
DATA = ["pki", "etcd-data", "certs", "logs", "kubeconfig", "kubeconfig-limited", "cluster.json"]


@dataclass
class Cluster:
    dir: Path
    server: str
    kubeconfig: Path
    kubeconfig_limited: Path
    limited_namespace: str
    kubectl: Path
    gpu_nodes: dict
    info: dict

    @classmethod
    def load(cls, dir: Path | str) -> "Cluster":
        dir = Path(dir).resolve()
        try:
            info = json.loads((dir / "cluster.json").read_text())
        except OSError:
            raise RuntimeError(f"no control plane in {dir} (no cluster.json): run tests/cluster/up {dir}")
        if info.get("format") != FORMAT:
            raise RuntimeError(f"the control plane in {dir} was started by an older tests/cluster/up: "
                               f"run tests/cluster/down {dir} and tests/cluster/up {dir} again")
        return cls(
            dir=dir,
            server=info["server"],
            kubeconfig=dir / "kubeconfig",
            kubeconfig_limited=dir / "kubeconfig-limited",
            limited_namespace=info["limited_namespace"],
            kubectl=Path(info["bin"]) / "kubectl",
            gpu_nodes=info["gpu_nodes"],
            info=info,
        )

    def run_kubectl(self, *args: str, limited: bool = False, input: str | None = None,
                    check: bool = True) -> subprocess.CompletedProcess:
        kubeconfig = self.kubeconfig_limited if limited else self.kubeconfig
        proc = subprocess.run([str(self.kubectl), f"--kubeconfig={kubeconfig}", *args],
                              input=input, capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def check_ready(self, timeout: float = 10) -> None:
        """Raise unless every daemon runs and the apiserver is ready."""
        dead = [d for d in DAEMONS if not procs.alive(self.dir, d)]
        if dead:
            raise RuntimeError(f"control plane in {self.dir}: not running: {', '.join(dead)}")
        procs.wait_http(f"{self.server}/readyz", "kube-apiserver", self.dir, "kube-apiserver",
                        timeout, _admin_tls(self.dir))

    def peak_rss_kib(self) -> dict:
        return {d: procs.peak_rss_kib(self.dir, d) for d in DAEMONS}


def _admin_tls(dir: Path):
    pki = dir / "pki"
    return procs.tls_context(pki / "ca.crt", pki / "admin.crt", pki / "admin.key")


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _write_kubeconfig(path: Path, server: str, pki: Path, user: str, cert: str,
                      namespace: str = "default") -> None:
    # JSON is valid YAML, and every kubeconfig reader takes it; data is
    # embedded so the file stands alone.
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "arena-run-test", "cluster": {
            "server": server, "certificate-authority-data": _b64(pki / "ca.crt")}}],
        "users": [{"name": user, "user": {
            "client-certificate-data": _b64(pki / f"{cert}.crt"),
            "client-key-data": _b64(pki / f"{cert}.key")}}],
        "contexts": [{"name": user, "context": {
            "cluster": "arena-run-test", "user": user, "namespace": namespace}}],
        "current-context": user,
    }
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)


def _seed_objects() -> dict:
    """Fake GPU nodes for kwok, and the limited user's namespace and RBAC."""
    nodes = []
    for name, gpus in GPU_NODES.items():
        resources = {"cpu": "32", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": str(gpus)}
        nodes.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {KWOK_ANNOTATION[0]: KWOK_ANNOTATION[1]},
                "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                           "kubernetes.io/arch": "amd64", "type": "kwok",
                           "nvidia.com/gpu.count": str(gpus)},
            },
            # A Node's status is kept on create (kubelets register this way);
            # kwok then adds conditions, addresses and its heartbeat.
            "status": {"capacity": resources, "allocatable": resources},
        })
    rbac = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": LIMITED_NAMESPACE}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "arena-run-limited", "namespace": LIMITED_NAMESPACE},
         "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "arena-run-limited", "namespace": LIMITED_NAMESPACE},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": "arena-run-limited"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                       "name": certs.LIMITED_USER}]},
    ]
    return {"apiVersion": "v1", "kind": "List", "items": nodes + rbac}


def up(dir: Path | str, log=sys.stderr, die_with_parent: bool = False) -> Cluster:
    """Build if needed, start everything, return once it is all ready.

    On failure the daemons started so far are stopped again (logs are kept).
    die_with_parent: the daemons are killed when this process exits (for a
    test session; see procs.start).
    """
    t0 = time.monotonic()
    dir = Path(dir).resolve()
    dir.mkdir(parents=True, exist_ok=True)
    running = [d for d in DAEMONS if procs.alive(dir, d)]
    if running:
        raise RuntimeError(f"{dir} already has a running control plane ({', '.join(running)}); "
                           f"run tests/cluster/down {dir} first")
    bindir = build.ensure_built(log)
    t_built = time.monotonic()
    for attempt in (1, 2):
        _remove_data(dir, keep_logs=False)
        (dir / "logs").mkdir()
        try:
            cluster = _start(dir, bindir, log, die_with_parent)
            break
        except BaseException as e:
            # free_port() can race with another process taking the port
            # before our daemon binds it: then one fresh try, new ports.
            clash = isinstance(e, Exception) and _port_clash(dir)
            down(dir, keep_logs=True)
            if attempt == 1 and clash:
                print("arena-run: a port was taken meanwhile; starting again",
                      file=log, flush=True)
                continue
            raise
    cluster.info["startup_seconds"] = round(time.monotonic() - t_built, 1)
    (dir / "cluster.json").write_text(json.dumps(cluster.info, indent=2) + "\n")
    print(f"arena-run: control plane up in {time.monotonic() - t0:.1f} s: "
          f"KUBECONFIG={cluster.kubeconfig}", file=log, flush=True)
    return cluster


def _port_clash(dir: Path) -> bool:
    for path in (dir / "logs").glob("*.log"):
        if "address already in use" in path.read_text(errors="replace"):
            return True
    return False


def _start(dir: Path, bindir: Path, log, die_with_parent: bool) -> Cluster:
    pki = dir / "pki"
    certs.make_pki(pki, SERVICE_IP)
    ports = {name: procs.free_port() for name in
             ("etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager",
              "kube-scheduler", "kwok", "training-operator", "training-operator-webhook",
              "mpi-operator", "jobset-controller", "jobset-webhook",
              "trainer-controller-manager", "trainer-webhook",
              "kueue", "kueue-webhook", "kueue-visibility")}
    server = f"https://127.0.0.1:{ports['kube-apiserver']}"
    kubeconfig = dir / "kubeconfig"
    bin = lambda name: str(bindir / name)  # noqa: E731
    start = lambda name, argv: procs.start(dir, name, argv,  # noqa: E731
                                           die_with_parent=die_with_parent)

    etcd_url = f"http://127.0.0.1:{ports['etcd']}"
    peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
    start("etcd", [
        bin("etcd"),
        "--name=arena-run",
        f"--data-dir={dir / 'etcd-data'}",
        f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
        f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=arena-run={peer_url}",
        "--unsafe-no-fsync",  # throwaway data: skip fsync, as envtest does
        "--max-request-bytes=33554432",  # the Kubeflow/KServe CRDs are MBs
        "--log-level=warn",
    ])
    procs.wait_http(f"{etcd_url}/health", "etcd", dir, "etcd", 60)

    start("kube-apiserver", [
        bin("kube-apiserver"),
        f"--etcd-servers={etcd_url}",
        f"--cert-dir={dir / 'certs' / 'kube-apiserver'}",
        f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
        f"--secure-port={ports['kube-apiserver']}",
        # Don't publish 127.0.0.1 as the `kubernetes` Service's endpoints
        # (nothing in the "cluster" could use it), as envtest.
        "--endpoint-reconciler-type=none",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allow-privileged=true",
        # Pods need no token Secret: there is no kubelet to mount one.
        "--disable-admission-plugins=ServiceAccount",
        "--authorization-mode=RBAC",
        f"--service-account-issuer={server}/",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
        f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
    ])
    procs.wait_http(f"{server}/readyz", "kube-apiserver", dir, "kube-apiserver", 120,
                    _admin_tls(dir))

    _write_kubeconfig(kubeconfig, server, pki, certs.ADMIN_USER, "admin")
    _write_kubeconfig(dir / "kubeconfig-limited", server, pki, certs.LIMITED_USER, "limited",
                      namespace=LIMITED_NAMESPACE)

    kubectl = [bin("kubectl"), f"--kubeconfig={kubeconfig}"]
    common = [f"--kubeconfig={kubeconfig}",
              f"--authentication-kubeconfig={kubeconfig}",
              f"--authorization-kubeconfig={kubeconfig}",
              "--leader-elect=false", "--bind-address=127.0.0.1"]
    start("kube-scheduler", [
        bin("kube-scheduler"), *common,
        f"--secure-port={ports['kube-scheduler']}",
        f"--cert-dir={dir / 'certs' / 'kube-scheduler'}",
    ])
    kwok_addr = f"127.0.0.1:{ports['kwok']}"
    start("kwok", [
        bin("kwok"),
        f"--kubeconfig={kubeconfig}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION[0]}={KWOK_ANNOTATION[1]}",
        # kwok's own server (health now; pod logs/exec later): nodes report
        # it as their address and kubelet port.
        f"--server-address={kwok_addr}",
        "--node-ip=127.0.0.1", f"--node-port={ports['kwok']}",
        f"--cidr={POD_CIDR}",
        "--node-lease-duration-seconds=40",
        *[f"--config={p}" for p in gomodules.kwok_stage_files()],
        # Pod logs: the API server asks the node's kubelet endpoint (kwok's
        # server, above), which answers from the file a kwok Logs object
        # names for that pod (tests write the file and create the object).
        "--enable-crds=Logs",
    ])

    # While those start: CRDs (server-side: too big for the last-applied
    # annotation), the fake nodes and the limited user's RBAC.
    _run(kubectl + ["apply", "--server-side", "--field-manager=arena-run-test-setup",
                    *[f"--filename={f}" for f in gomodules.crd_files()],
                    f"--filename={gomodules.kwok_logs_crd()}"])
    _run(kubectl + ["apply", "--server-side", "--field-manager=arena-run-test-setup",
                    "--filename=-"], input=json.dumps(_seed_objects()))
    _run(kubectl + ["wait", "--for=condition=Established", "--timeout=60s",
                    *[f"crd/{c}" for c in versions.CRD_NAMES], "crd/logs.kwok.x-k8s.io"])

    # The controller manager only once the CRDs are served: its garbage
    # collector discovers the resources to watch at start and then only every
    # 30 s, so a TFJob owner's dependents would otherwise linger that long.
    start("kube-controller-manager", [
        bin("kube-controller-manager"), *common,
        f"--secure-port={ports['kube-controller-manager']}",
        f"--cert-dir={dir / 'certs' / 'kube-controller-manager'}",
        f"--service-account-private-key-file={pki / 'sa.key'}",
        f"--root-ca-file={pki / 'ca.crt'}",
        f"--cluster-signing-cert-file={pki / 'ca.crt'}",
        f"--cluster-signing-key-file={pki / 'ca.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
    ])

    tls_any = procs.tls_context(None)
    procs.wait_http(f"https://127.0.0.1:{ports['kube-scheduler']}/readyz",
                    "kube-scheduler", dir, "kube-scheduler", 60, tls_any)
    procs.wait_http(f"http://{kwok_addr}/readyz", "kwok", dir, "kwok", 60)
    procs.wait_http(f"https://127.0.0.1:{ports['kube-controller-manager']}/healthz",
                    "kube-controller-manager", dir, "kube-controller-manager", 60, tls_any)
    _run(kubectl + ["wait", "--for=condition=Ready", "--timeout=60s",
                    *[f"node/{n}" for n in GPU_NODES]])

    # The operators start together; each is waited for (and its webhooks
    # registered) only after all have been started.
    ready = [_start_training_operator(dir, bindir, ports, kubeconfig, kubectl, start),
             _start_mpi_operator(dir, bindir, ports, kubeconfig, start),
             _start_jobset(dir, bindir, ports, kubeconfig, kubectl, start),
             _start_trainer(dir, bindir, ports, kubeconfig, kubectl, start),
             _start_kueue(dir, bindir, ports, kubeconfig, kubectl, start)]
    for finish in ready:
        finish()

    info = {
        "format": FORMAT,
        "server": server,
        "bin": str(bindir),
        "ports": ports,
        "limited_namespace": LIMITED_NAMESPACE,
        "limited_user": certs.LIMITED_USER,
        "admin_user": certs.ADMIN_USER,
        "gpu_nodes": GPU_NODES,
        "versions": {**versions.pinned(),
                     **{m: v for (m, v), _ in versions.crd_files()}},
        "crds": versions.CRD_NAMES,
        # TFJobs/PyTorchJobs get pods and status from the real operator, MPIJobs
        # from the mpi-operator, TrainJobs from Trainer v2 and the JobSet controller.
        "training_operator": True,
        "mpi_operator": True,
        "trainer": True,
        # Kueue manages the job kinds of kueue_frameworks that carry a queue label.
        "kueue": True,
        "kueue_frameworks": versions.KUEUE_FRAMEWORKS,
        # kubectl annotate pod P arena-run.test/exit-code=0: P Succeeds (see kwok/).
        "exit_code_annotation": versions.EXIT_CODE_ANNOTATION,
        "operator_webhooks": list(OPERATOR_WEBHOOKS),
    }
    return Cluster(dir=dir, server=server, kubeconfig=kubeconfig,
                   kubeconfig_limited=dir / "kubeconfig-limited",
                   limited_namespace=LIMITED_NAMESPACE, kubectl=bindir / "kubectl",
                   gpu_nodes=GPU_NODES, info=info)


def _cert_dir(dir: Path, name: str) -> Path:
    """The webhook serving certificate (test PKI, for 127.0.0.1) as controller-runtime wants it."""
    pki = dir / "pki"
    certdir = dir / "certs" / name
    certdir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pki / "webhook.crt", certdir / "tls.crt")
    shutil.copyfile(pki / "webhook.key", certdir / "tls.key")
    return certdir


def _apply(kubectl: list[str], obj: dict) -> None:
    _run(kubectl + ["apply", "--server-side", "--field-manager=arena-run-test-setup",
                    "--filename=-"], input=json.dumps(obj))


def _start_training_operator(dir: Path, bindir: Path, ports: dict, kubeconfig: Path,
                             kubectl: list[str], start):
    """The Kubeflow training operator v1, out of cluster: TFJobs and
    PyTorchJobs get pods, services and status as in production, and its
    validating webhooks run (called by URL on 127.0.0.1)."""
    certdir = _cert_dir(dir, "training-operator")
    probe = f"127.0.0.1:{ports['training-operator']}"
    start("training-operator", [
        str(bindir / "training-operator"),
        f"--kubeconfig={kubeconfig}",
        "--enable-scheme=tfjob", "--enable-scheme=pytorchjob",
        f"--health-probe-bind-address={probe}",
        "--metrics-bind-address=0",  # off
        f"--webhook-server-port={ports['training-operator-webhook']}",
        f"--webhook-cert-dir={certdir}",
    ])

    def finish():
        procs.wait_http(f"http://{probe}/readyz", "training-operator", dir, "training-operator", 60)
        # Registered only once the webhook serves: failurePolicy Fail would
        # otherwise reject every TFJob in between.
        webhook = f"https://127.0.0.1:{ports['training-operator-webhook']}"
        _apply(kubectl, {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "validator.training-operator.kubeflow.org"},
            "webhooks": [{
                "name": f"validator.{res[:-1]}.training-operator.kubeflow.org",
                "admissionReviewVersions": ["v1"],
                "clientConfig": {"url": webhook + path, "caBundle": _b64(dir / "pki" / "ca.crt")},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "rules": [{"apiGroups": ["kubeflow.org"], "apiVersions": ["v1"],
                           "operations": ["CREATE", "UPDATE"], "resources": [res]}],
            } for res, path in OPERATOR_WEBHOOKS.items()],
        })
    return finish


def _start_mpi_operator(dir: Path, bindir: Path, ports: dict, kubeconfig: Path, start):
    """The mpi-operator (MPIJob kubeflow.org/v2beta1): launcher Job, worker
    pods, hostfile ConfigMap, SSH Secret and status. It has no webhooks."""
    probe = f"127.0.0.1:{ports['mpi-operator']}"
    start("mpi-operator", [
        str(bindir / "mpi-operator"),
        f"--kubeConfig={kubeconfig}",
        f"--health-probe-bind-address={probe}",
        # Its defaults (5 QPS) are for a busy production apiserver.
        "--kube-api-qps=50", "--kube-api-burst=100",
    ])
    return lambda: procs.wait_http(f"http://{probe}/readyz", "mpi-operator", dir, "mpi-operator", 120)


def _read_manifest(kubectl: list[str], path: Path) -> list[dict]:
    """The objects of a YAML manifest, parsed by kubectl (this package uses
    the standard library only): one JSON document per object."""
    text = subprocess.run(kubectl + ["create", "--dry-run=client", "-o", "json", f"--filename={path}"],
                          capture_output=True, text=True, timeout=60, check=True).stdout
    decoder, docs, at = json.JSONDecoder(), [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return docs
        doc, at = decoder.raw_decode(text, at)
        docs += doc["items"] if doc.get("kind") == "List" else [doc]


def _webhooks_by_url(kubectl: list[str], manifest: Path, url: str, ca: str, prefix: str,
                     object_selectors: dict | None = None) -> list[dict]:
    """kubebuilder's webhook configurations, calling `url` instead of the
    in-cluster Service they name, under names of our own."""
    configs = _read_manifest(kubectl, manifest)
    for config in configs:
        config["metadata"] = {"name": f"{prefix}-{config['kind'].lower()}"}
        for hook in config["webhooks"]:
            path = hook["clientConfig"]["service"]["path"]
            hook["clientConfig"] = {"url": url + path, "caBundle": ca}
            if object_selectors and hook["name"] in object_selectors:
                hook["objectSelector"] = object_selectors[hook["name"]]
    return configs


def _start_jobset(dir: Path, bindir: Path, ports: dict, kubeconfig: Path,
                  kubectl: list[str], start):
    """The JobSet controller (what a TrainJob becomes), its own main package
    configured by file: no leader election, no certificate rotator, webhooks
    on 127.0.0.1 with the test PKI's certificate."""
    certdir = _cert_dir(dir, "jobset-controller")
    probe = f"127.0.0.1:{ports['jobset-controller']}"
    config = certdir / "config.json"  # JSON is YAML: read as its config file
    config.write_text(json.dumps({
        "apiVersion": "config.jobset.x-k8s.io/v1alpha1", "kind": "Configuration",
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},
        "webhook": {"host": "127.0.0.1", "port": ports["jobset-webhook"], "certDir": str(certdir)},
        "metrics": {"bindAddress": "0"},  # off
        "health": {"healthProbeBindAddress": probe},
    }))
    start("jobset-controller", [
        str(bindir / "jobset-controller"), f"--kubeconfig={kubeconfig}", f"--config={config}",
        "--zap-devel=false",
    ])

    def finish():
        procs.wait_http(f"http://{probe}/readyz", "jobset-controller", dir, "jobset-controller", 120)
        # Its pod webhooks only see JobSet pods, as upstream's kustomize
        # patch (config/components/webhook/patches/) limits them.
        only_jobset_pods = {"matchExpressions": [
            {"key": "jobset.sigs.k8s.io/jobset-name", "operator": "Exists"}]}
        for obj in _webhooks_by_url(
                kubectl, gomodules.module_file(versions.JOBSET_MODULE, versions.JOBSET_WEBHOOKS),
                f"https://127.0.0.1:{ports['jobset-webhook']}", _b64(dir / "pki" / "ca.crt"),
                "jobset", {"mpod.kb.io": only_jobset_pods, "vpod.kb.io": only_jobset_pods}):
            _apply(kubectl, obj)
    return finish


def _trainer_runtimes(kubectl: list[str]) -> list[dict]:
    return [obj for rel in versions.TRAINER_RUNTIMES
            for obj in _read_manifest(kubectl, gomodules.module_file(versions.TRAINER_MODULE, rel))]


def _start_trainer(dir: Path, bindir: Path, ports: dict, kubeconfig: Path,
                   kubectl: list[str], start):
    """Kubeflow Trainer v2's controller manager (TrainJobs become JobSets) and
    its webhooks; then the ClusterTrainingRuntimes from its manifests (their
    validating webhook is the trainer's own, so they come after it)."""
    certdir = _cert_dir(dir, "trainer-controller-manager")
    probe = f"127.0.0.1:{ports['trainer-controller-manager']}"
    start("trainer-controller-manager", [
        str(bindir / "trainer-controller-manager"), f"--kubeconfig={kubeconfig}",
        f"--health-probe-bind-address={probe}",
        f"--webhook-server-port={ports['trainer-webhook']}",
        f"--webhook-cert-dir={certdir}",
    ])

    def finish():
        procs.wait_http(f"http://{probe}/readyz", "trainer-controller-manager", dir,
                        "trainer-controller-manager", 120)
        for obj in _webhooks_by_url(
                kubectl, gomodules.module_file(versions.TRAINER_MODULE, versions.TRAINER_WEBHOOKS),
                f"https://127.0.0.1:{ports['trainer-webhook']}", _b64(dir / "pki" / "ca.crt"),
                "trainer"):
            _apply(kubectl, obj)
        for runtime in _trainer_runtimes(kubectl):
            _apply(kubectl, runtime)
    return finish


def kueue_configuration(ports: dict, certdir: Path) -> dict:
    """Kueue's Configuration (config.kueue.x-k8s.io/v1beta2): on 127.0.0.1, no
    leader election, no certificate management of its own."""
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2", "kind": "Configuration",
        "namespace": versions.KUEUE_NAMESPACE,
        "health": {"healthProbeBindAddress": f"127.0.0.1:{ports['kueue']}"},
        "metrics": {"bindAddress": "0"},
        "webhook": {"host": "127.0.0.1", "port": ports["kueue-webhook"], "certDir": str(certdir)},
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},
        # Jobs without a queue label are not Kueue's: the rest of the suite
        # runs as if Kueue were not there.
        "manageJobsWithoutQueueName": False,
        # All or nothing: an admitted job whose pods are not all ready in time
        # is evicted and requeued, and none is admitted meanwhile.
        "waitForPodsReady": {"timeout": "5m", "blockAdmission": True,
                             "requeuingStrategy": {"timestamp": "Eviction"}},
        "integrations": {"frameworks": versions.KUEUE_FRAMEWORKS},
        # The defaults of a production install, for a control plane that is
        # not busy: a test waits for Kueue's reactions.
        "clientConnection": {"qps": 100, "burst": 200},
    }


def _start_kueue(dir: Path, bindir: Path, ports: dict, kubeconfig: Path,
                 kubectl: list[str], start):
    """Kueue's controller manager (queues, quota, admission of whole jobs) with
    its webhooks, and its visibility API (pending workloads and their positions)."""
    certdir = _cert_dir(dir, "kueue")
    config = certdir / "config.json"  # JSON is YAML: read as its config file
    config.write_text(json.dumps(kueue_configuration(ports, certdir)))
    start("kueue", [
        str(bindir / "kueue"), f"--kubeconfig={kubeconfig}", f"--config={config}",
        f"--visibility-port={ports['kueue-visibility']}", f"--visibility-cert-dir={certdir}",
        "--zap-devel=false",
    ])

    def finish():
        procs.wait_http(f"http://127.0.0.1:{ports['kueue']}/readyz", "kueue", dir, "kueue", 120)
        url = f"https://127.0.0.1:{ports['kueue-webhook']}"
        ca = _b64(dir / "pki" / "ca.crt")
        wanted = {f"{p}{kind}.kb.io" for kind in versions.KUEUE_WEBHOOK_NAMES for p in "mv"}
        # A job webhook sees only jobs with a queue label (on an update, the
        # old object or the new): the others are not Kueue's here
        # (manageJobsWithoutQueueName is off), and so the API server itself,
        # not Kueue's decoder, answers a malformed job, as without Kueue.
        queued = {"matchExpressions": [{"key": QUEUE_LABEL, "operator": "Exists"}]}
        jobs = {f"{p}{kind}.kb.io": queued for kind in versions.KUEUE_JOB_WEBHOOK_NAMES for p in "mv"}
        for obj in _webhooks_by_url(
                kubectl, gomodules.module_file(versions.KUEUE_MODULE, versions.KUEUE_WEBHOOKS), url, ca, "kueue",
                jobs):
            obj["webhooks"] = [h for h in obj["webhooks"] if h["name"] in wanted]
            _apply(kubectl, obj)
        # v1beta1 <-> v1beta2, as Kueue's kustomization sets up (crd/patches/).
        for plural in versions.KUEUE_CONVERTED_CRDS:
            _run(kubectl + ["patch", "crd", f"{plural}.kueue.x-k8s.io", "--type=merge", "--patch", json.dumps(
                {"spec": {"conversion": {"strategy": "Webhook", "webhook": {
                    "clientConfig": {"url": f"{url}/convert", "caBundle": ca},
                    "conversionReviewVersions": ["v1"]}}}})])
        # The visibility API: an aggregated API server on 127.0.0.1, reached
        # through an ExternalName Service (localhost) as no cluster network exists.
        ns = versions.KUEUE_NAMESPACE
        _apply(kubectl, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        _apply(kubectl, {"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": versions.KUEUE_VISIBILITY_SERVICE, "namespace": ns},
                         "spec": {"type": "ExternalName", "externalName": "localhost",
                                  "ports": [{"name": "https", "port": ports["kueue-visibility"]}]}})
        for rel in versions.KUEUE_VISIBILITY_APISERVICES:
            for svc in _read_manifest(kubectl, gomodules.module_file(versions.KUEUE_MODULE, rel)):
                svc["spec"].pop("insecureSkipTLSVerify", None)
                svc["spec"]["caBundle"] = ca
                svc["spec"]["service"] = {"name": versions.KUEUE_VISIBILITY_SERVICE, "namespace": ns,
                                          "port": ports["kueue-visibility"]}
                _apply(kubectl, svc)
        _run(kubectl + ["wait", "--for=condition=Available", "--timeout=60s",
                        *[f"apiservice/{v}.visibility.kueue.x-k8s.io" for v in ("v1beta2", "v1beta1")]])
    return finish


def _run(argv: list[str], input: str | None = None) -> None:
    proc = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:1] + argv[2:])} failed ({proc.returncode}):\n"
                           f"{proc.stdout}{proc.stderr}")


def down(dir: Path | str, keep_logs: bool = False) -> list[str]:
    """Stop the daemons `up` started in DIR (by PID) and remove their data."""
    dir = Path(dir).resolve()
    stopped = []
    for name in reversed(DAEMONS):
        if procs.alive(dir, name):
            stopped.append(name)
        procs.stop(dir, name)
    _remove_data(dir, keep_logs)
    try:
        dir.rmdir()  # only if empty: DIR may hold the user's own files
    except OSError:
        pass
    return stopped


def _remove_data(dir: Path, keep_logs: bool) -> None:
    for name in DATA:
        if keep_logs and name == "logs":
            continue
        path = dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()

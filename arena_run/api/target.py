"""Where experiments run: a cluster (a connection to its API server) or this machine.

Both are Readers (arena_run.objects.reader): the local state is read as the
live objects a cluster would hold (arena_run.local.view), so planning,
status, logs and top are the same code for both.  Only writing differs, and
each verb of arena_run.api that writes picks its engine by the target's type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Union

from ..cluster import Cluster, connect
from ..spec.model import Experiment

if TYPE_CHECKING:  # imported where used: the local target loads only for --local
    from ..local.view import LocalView

# A cluster, or this machine (`--local`).
Target = Union[Cluster, "LocalView"]

__all__ = ["Target", "connect", "local", "namespace_for", "namespace_of"]


def local(state_dir: Optional[str] = None, runner: Optional[str] = None) -> LocalView:
    """This machine as a target: experiments run as processes (runner "container": each replica
    in its image, through Podman or Docker; default: $ARENA_RUN_LOCAL_RUNNER, else process),
    their state in state_dir (default $XDG_STATE_HOME/arena-run)."""
    from ..local.runners import runner_name
    from ..local.state import Store
    from ..local.view import LocalView

    return LocalView(Store(state_dir), runner_name(runner))


def namespace_for(exp: Experiment, target: Target, namespace: Optional[str] = None) -> str:
    """Where an experiment goes: --namespace, else the file's, else the kube context's, else default.

    The local target has one namespace, `local`, whatever the file says.
    """
    if not isinstance(target, Cluster):
        return target.namespace
    return namespace or exp.namespace or target.namespace or "default"


def namespace_of(target: Target, namespace: Optional[str], all_namespaces: bool = False) -> Optional[str]:
    """The namespace a listing reads (None: all of them): the one given, else the target's own."""
    if not isinstance(target, Cluster):
        return target.namespace
    return None if all_namespaces else (namespace or target.namespace)

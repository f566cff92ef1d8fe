"""What identifies an object, and the live state a plan compares against."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

from .kinds import group_kind

# A Kubernetes object (or any JSON mapping) as the API server sends it: its
# values are whatever JSON holds, so Any is the honest value type.
Obj = dict[str, Any]
Key = tuple[str, Optional[str], str]  # (group_kind, namespace, name)


def bare_kind(key: Key) -> str:
    """The bare kind of a key's object: "TFJob" of ("TFJob.kubeflow.org", ns, name)."""
    return key[0].split(".")[0]


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj["metadata"]
    return (group_kind(obj), meta.get("namespace"), meta["name"])


class Live(NamedTuple):
    parent: Optional[dict[str, Any]]  # the ApplySet parent as the target holds it, or None
    members: dict[Key, dict[str, Any]]  # Key -> live object, with its metadata.managedFields
    foreign: dict[Key, dict[str, Any]]  # Key -> metadata of a non-member with a desired object's name
    # The namespace's Kueue LocalQueues where a desired job names one and they were read (else None):
    # name -> LocalQueue; None as the whole when this user may not list them.
    queues: Optional["LocalQueues"] = None


class LocalQueues(NamedTuple):
    served: bool  # False: the cluster serves no LocalQueue (no Kueue, or one older than v1beta2)
    items: dict[str, dict[str, Any]]  # name -> the LocalQueue as the API server holds it

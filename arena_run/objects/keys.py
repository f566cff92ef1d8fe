"""What identifies an object, and the live state a plan compares against."""

from __future__ import annotations

from typing import NamedTuple, Optional

Key = tuple  # (group_kind, namespace, name)


def group_kind(obj: dict) -> str:
    """`Kind.group` as ApplySets spell it (the core group has no suffix), from apiVersion and kind."""
    group = obj["apiVersion"].rpartition("/")[0]
    return f"{obj['kind']}.{group}" if group else obj["kind"]


def key_of(obj: dict) -> Key:
    meta = obj["metadata"]
    return (group_kind(obj), meta.get("namespace"), meta["name"])


class Live(NamedTuple):
    parent: Optional[dict]  # the ApplySet parent as the target holds it, or None
    members: dict  # Key -> live object, with its metadata.managedFields
    foreign: dict  # Key -> metadata of a non-member with a desired object's name

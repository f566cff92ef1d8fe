"""One apply of an experiment at a time: a lock held in its ApplySet parent.

Two applies of different versions of one experiment, writing member by
member, would leave a mix of both.  So an apply that writes members first
takes the parent: it writes it (the ApplySet order writes it first anyway)
with the annotation `arena-run.io/apply-lock` naming who applies and since
when, on the condition that the parent is still what its plan read — its
resourceVersion for an existing parent, a create (which fails if the parent
exists) for a new one.  Of two applies that planned from the same parent,
the second write is refused by the API server; an apply that planned after
the first took the lock sees the annotation.  Either way the second stops
before writing anything and says which apply holds it and since when.

The last parent write clears the annotation.  A first apply writes its parent
once (one write per experiment beyond its objects): its lock is released
when every object the parent records exists, which a first apply, creating
only, has then finished.  A lock whose holder is gone is not one: a process
on this host that no longer runs (killed, or interrupted), an apply of this
process that has returned, or one past its lease (held from another host).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
import threading
import uuid
from typing import Any, Callable, Optional

from ..cluster import Cluster, ClusterError
from ..objects.applyset import EXPERIMENT_KEY, PARENT_KIND
from ..objects.keys import Key
from ..objects.times import format_time, parse_time, utc_now
from .errors import Locked

LOCK = "arena-run.io/apply-lock"
LEASE = dt.timedelta(minutes=15)  # longest an apply from another host is held to (replacements wait up to 5)
FIRST_LEASE = dt.timedelta(minutes=2)  # a first apply only creates: seconds, even for a directory

_active: set[str] = set()  # tokens of the applies this process is running
_active_lock = threading.Lock()


def new_marker(first: bool) -> dict[str, Any]:
    now = utc_now()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    lease = FIRST_LEASE if first else LEASE
    return {"holder": f"{user}@{socket.gethostname()}", "host": socket.gethostname(), "pid": os.getpid(),
            "token": uuid.uuid4().hex[:12], "since": format_time(now), "until": format_time(now + lease), "first": first}


def marker_of(parent: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    text = ((parent or {}).get("metadata", {}).get("annotations") or {}).get(LOCK) or ""
    if not text:
        return None
    try:
        marker = json.loads(text)
    except ValueError:
        return None
    return marker if isinstance(marker, dict) else None


def holder_gone(marker: dict[str, Any], now: Optional[dt.datetime] = None) -> bool:
    """Whether the apply that wrote marker can no longer be writing."""
    now = now or utc_now()
    try:
        until = parse_time(str(marker.get("until", "")))
        if until is None or now > until:
            return True
    except ValueError:
        return True
    if marker.get("host") != socket.gethostname():
        return False
    pid: Any = marker.get("pid")  # whatever the marker holds: int() refuses what is no pid
    if pid == os.getpid():
        with _active_lock:
            return marker.get("token") not in _active
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return True
    except PermissionError:
        return False  # it runs, as another user
    return False


def held_by(parent: Optional[dict[str, Any]], present: frozenset[Key],
            render_keys: Callable[[str], list[Key]]) -> Optional[dict[str, Any]]:
    """The marker of an apply that may still be writing this experiment, or None.

    present: keys of the members that exist; render_keys(experiment_json) the
    keys of the objects a recorded experiment has (for a first apply's lock).
    """
    marker = marker_of(parent)
    if marker is None or holder_gone(marker):
        return None
    if marker.get("first"):
        text = ((parent or {}).get("data") or {}).get(EXPERIMENT_KEY)
        try:
            wanted = render_keys(text) if text else None
        except ValueError:
            wanted = None
        if wanted is not None and set(wanted) <= set(present):
            return None  # every object it creates exists: that first apply is done
    return marker


def describe(marker: dict[str, Any]) -> str:
    since = str(marker.get("since", "?"))
    try:
        since_at = parse_time(since)
        when = f"since {since} ({int((utc_now() - since_at).total_seconds())}s ago)" if since_at else f"since {since}"
    except ValueError:
        when = f"since {since}"
    return f"{marker.get('holder', '?')} (pid {marker.get('pid', '?')}) {when}"


def acquire(cluster: Cluster, parent: dict[str, Any], live_parent: Optional[dict[str, Any]], marker: dict[str, Any]) -> dict[str, Any]:
    """Write parent with the lock, only over the parent the plan read; returns what the server stored."""
    body = json.loads(json.dumps(parent))
    body["metadata"].setdefault("annotations", {})[LOCK] = json.dumps(marker, sort_keys=True)
    name = f"{body['metadata']['namespace']}/{body['metadata']['name']}"
    with _active_lock:
        _active.add(marker["token"])
    try:
        if live_parent is None:
            return cluster.create(body)
        body["metadata"]["resourceVersion"] = live_parent["metadata"]["resourceVersion"]
        return cluster.apply(body)
    except ClusterError as exc:
        release_token(marker)
        if exc.status != 409:
            raise
        now = cluster.get(PARENT_KIND, parent["metadata"]["namespace"], parent["metadata"]["name"])
        other = marker_of(now)
        if other is not None and other.get("token") == marker["token"] and now is not None:
            with _active_lock:
                _active.add(marker["token"])
            return now  # our own write, sent again after a reset: it had landed
        if other is not None and not holder_gone(other):
            raise Locked(f"another apply holds {name}: {describe(other)}; "
                         "apply again once it has finished") from None
        raise Locked(f"{name} changed since the plan was made (another apply?); "
                     "plan and apply again") from None


def release(cluster: Cluster, parent: dict[str, Any], marker: dict[str, Any]) -> dict[str, Any]:
    """The last parent write: the new record, the lock cleared (an empty value,
    which also clears a lock the parent's create set, whose fields an apply does not own)."""
    body = json.loads(json.dumps(parent))
    body["metadata"].setdefault("annotations", {})[LOCK] = ""
    try:
        return cluster.apply(body)
    finally:
        release_token(marker)


def release_token(marker: dict[str, Any]) -> None:
    with _active_lock:
        _active.discard(marker["token"])

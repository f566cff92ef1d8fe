"""Constrained scalar types of the file format.

Each carries its rule both ways: a pydantic validator for the fast path and a
JSON Schema pattern so editors flag the same mistakes while typing.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Optional, Union

from pydantic import BeforeValidator, Field, PlainSerializer, PlainValidator, SerializationInfo, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from .floats import WrittenFloat

# Kubernetes resource.Quantity: a decimal number with an optional SI, binary or
# exponent suffix.  Negative quantities make no sense for anything we set.
QUANTITY_RE = r"^(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$"
# A duration in the spirit of Go's and kubectl's: 90s, 10m, 1h30m, 7d.
DURATION_RE = r"^(\d+[smhdw])+$"
DNS1123_LABEL_RE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1035_LABEL_RE = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN_RE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
ENV_NAME_RE = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
SWEEP_PARAM_RE = r"^[a-z_][a-z0-9_]*$"
ABS_PATH_RE = r"^/"
# Label keys: an optional DNS subdomain prefix and a name of up to 63 chars.
LABEL_KEY_RE = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
LABEL_VALUE_RE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Kubernetes keeps counts and seconds in int32 fields.
INT32_MAX = 2**31 - 1


def show(value: object) -> str:
    """A value as the user wrote it: TOML dates as dates, not Python reprs."""
    from .errors import shown

    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    return shown(value)


def _quantity(value: object) -> str:
    # TOML users write `cpu = 4`; Kubernetes wants the string "4".
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= QUANTITY_MAX:
        value = str(int(value)) if value == int(value) else repr(value)
    if isinstance(value, str) and _QUANTITY.fullmatch(value):  # not .match: its $ allows a final newline
        return value
    raise PydanticCustomError(
        "quantity", "{value} is not a Kubernetes quantity (e.g. 4, 0.5, 500m, 16Gi)", {"value": show(value)}
    )


def duration_seconds(text: str) -> Optional[int]:
    """`90s`, `10m`, `1h30m`, `7d`, `2w` in seconds; None if it is not such a duration.

    One spelling for the file (`ttl_after_finished`) and the command line (`--since`).
    """
    if not _DURATION.fullmatch(text):
        return None
    return sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([smhdw])", text))


def _integral(value: object) -> object:
    # JSON, and so the JSON Schema, cannot tell 2.0 from 2: a count written
    # `2.0` (or YAML `!!float 2`) is the count 2 to both, never an error to one.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _duration(value: object) -> int:
    value = _integral(value)
    seconds = None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        seconds = value
    elif isinstance(value, str):
        seconds = duration_seconds(value)
    if seconds is None:
        raise PydanticCustomError(
            "duration", "{value} is not a duration (seconds, or e.g. 90s, 30m, 12h, 7d, 2w, 1h30m)", {"value": show(value)}
        )
    if seconds > INT32_MAX:
        raise PydanticCustomError("duration", "{value} is longer than Kubernetes takes (68 years)", {"value": show(value)})
    return seconds


_QUANTITY = re.compile(QUANTITY_RE)
_DURATION = re.compile(DURATION_RE)
# Kubernetes keeps a quantity in an int64.  The bound also refuses inf, and the
# `not` refuses nan: every comparison with nan is false, so no real number is both
# >= 1 and <= 0, and only nan (which fails neither test) matches it.
QUANTITY_MAX = 2**63 - 1
_NUMBER = {"type": "number", "minimum": 0, "maximum": QUANTITY_MAX, "not": {"minimum": 1, "maximum": 0}}

# One custom validator each, so a bad value gets one clear message rather than
# one per member of a union; the JSON Schema states the same rule.
Quantity = Annotated[
    str,
    BeforeValidator(_quantity),
    WithJsonSchema({"anyOf": [_NUMBER, {"type": "string", "pattern": QUANTITY_RE}]}),
]
# Seconds as an integer, or a duration string such as "1h30m"; validated to seconds.
Duration = Annotated[
    int,
    BeforeValidator(_duration),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0, "maximum": INT32_MAX},
                              {"type": "string", "pattern": DURATION_RE}]}),
]

AbsPath = Annotated[str, Field(pattern=ABS_PATH_RE, min_length=1)]
# A count Kubernetes stores in an int32 (replicas, GPUs, retries).
# The bounds come before the validator: after it, pydantic cannot put them in the schema.
Count = Annotated[int, Field(ge=0, le=INT32_MAX), BeforeValidator(_integral)]
PositiveCount = Annotated[int, Field(ge=1, le=INT32_MAX), BeforeValidator(_integral)]
Port = Annotated[int, Field(ge=1, le=65535), BeforeValidator(_integral)]
ResourceName = Annotated[str, Field(pattern=DNS1123_SUBDOMAIN_RE, max_length=253)]
Label = Annotated[str, Field(pattern=DNS1123_LABEL_RE, max_length=63)]
EnvName = Annotated[str, Field(pattern=ENV_NAME_RE)]
LabelKey = Annotated[str, Field(pattern=LABEL_KEY_RE, max_length=316)]
LabelValue = Annotated[str, Field(pattern=LABEL_VALUE_RE, max_length=63)]
# The name of an object that a label names (Kueue's queue-name and
# priority-class labels): a DNS subdomain, as object names are, that fits a
# label value's 63 characters.
LabelledName = Annotated[str, Field(pattern=DNS1123_SUBDOMAIN_RE, max_length=63)]


# The record of an applied experiment (Experiment.to_json) keeps a float's
# spelling as {"$float": "1e-5"}, since JSON's parsers keep only the number;
# only reading a record (the context RECORD) accepts it, never a user's file.
RECORD = "arena-run.record"
FLOAT_TAG = "$float"
_FLOAT_TEXT = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def _scalar(value: object, info: ValidationInfo) -> object:
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict) and (info.context or {}).get(RECORD) and list(value) == [FLOAT_TAG]:
        text = value[FLOAT_TAG]
        if isinstance(text, str) and _FLOAT_TEXT.fullmatch(text):
            return WrittenFloat(text)
    raise PydanticCustomError("scalar", "a sweep value must be a string, number or boolean")


def _recorded(value: object, info: SerializationInfo) -> object:
    # Tagged only in a record (other JSON dumps keep the schema's plain number),
    # and only where the spelling is not Python's, so the record (and the spec
    # hash made from it) of `lr = [0.001]` is what it always was.
    if (info.context or {}).get(RECORD) and isinstance(value, WrittenFloat) and value.text != repr(float(value)):
        return {FLOAT_TAG: value.text}
    return value


# Any TOML scalar; one check, so a table in a sweep gets one message.
SweepValue = Annotated[
    Union[bool, int, float, str],
    PlainValidator(_scalar),
    PlainSerializer(_recorded, when_used="json"),
    WithJsonSchema({"type": ["boolean", "integer", "number", "string"]}),
]

__all__ = [
    "AbsPath", "Count", "PositiveCount", "Port", "Duration", "EnvName", "Label", "LabelKey", "LabelValue", "LabelledName", "Quantity",
    "ResourceName", "SweepValue", "DNS1035_LABEL_RE", "SWEEP_PARAM_RE",
]

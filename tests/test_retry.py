"""The retry policy's promises, as properties (the real faults are in tests/cluster/test_faults.py)."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

from hypothesis import given, strategies as st

from arena_run.cluster.retry import BROKEN, NOT_SENT, RESET, TIMEOUT, RetryPolicy, parse_retry_after

statuses = st.one_of(st.none(), st.sampled_from([200, 400, 401, 403, 404, 409, 410, 422, 429, 500, 502, 503, 504]))
failures = st.sampled_from([NOT_SENT, RESET, TIMEOUT, BROKEN])
retry_afters = st.one_of(st.none(), st.floats(0, 200, allow_nan=False))
rands = st.floats(0, 1, exclude_max=True)
policies = st.builds(RetryPolicy, max_retries=st.integers(0, 12), max_elapsed=st.floats(0, 120),
                     base=st.floats(0.01, 2), factor=st.floats(1, 3), cap=st.floats(0.1, 10),
                     jitter=st.floats(0, 1), max_retry_after=st.floats(0, 60))


@st.composite
def outcomes(draw):
    status = draw(statuses)
    return status, (draw(failures) if status is None else None), draw(retry_afters)


@given(policies, st.lists(outcomes(), min_size=1, max_size=30), st.booleans(), st.booleans(), rands)
def test_a_request_is_retried_a_bounded_number_of_times_within_a_bounded_time(policy, answers, idempotent,
                                                                                 reached, rand):
    elapsed, retries = 0.0, 0
    for status, failure, retry_after in answers:
        delay = policy.next_wait(retries=retries, elapsed=elapsed, status=status, failure=failure,
                                 retry_after=retry_after, idempotent=idempotent, reached=reached, rand=rand)
        if delay is None:
            break
        assert delay >= 0
        elapsed += delay
        retries += 1
    assert retries <= policy.max_retries
    assert elapsed <= policy.max_elapsed


@given(st.integers(0, 20), st.floats(0, 100), statuses, failures, retry_afters, st.booleans(), rands)
def test_what_is_retried(retries, elapsed, status, failure, retry_after, reached, rand):
    policy = RetryPolicy()
    failure = failure if status is None else None
    kw = dict(retries=retries, elapsed=elapsed, status=status, failure=failure, retry_after=retry_after,
              reached=reached, rand=rand)
    safe = policy.next_wait(idempotent=True, **kw)
    unsafe = policy.next_wait(idempotent=False, **kw)
    if status is not None and (200 <= status < 300 or status in (400, 401, 403, 404, 409, 410, 422)):
        assert safe is None and unsafe is None  # an answer that sending again cannot change
    if status is None and failure in (RESET, TIMEOUT, BROKEN):
        assert unsafe is None  # it may have run: never twice unless idempotent
    if status is not None and status >= 500 and retry_after is None:
        assert unsafe is None
    if failure == NOT_SENT and not reached:
        assert safe is None and unsafe is None  # a wrong address fails at once
    if unsafe is not None:
        assert safe is not None  # whatever is safe to repeat blindly is safe to repeat knowingly
    if retries < policy.max_retries and elapsed + policy.max_retry_after * (1 + policy.jitter) <= policy.max_elapsed:
        if status == 429:
            assert safe is not None and unsafe is not None  # APF rejected it before it ran
        if status in (502, 503, 504) or (status is None and failure in (RESET, TIMEOUT, BROKEN)):
            assert safe is not None


@given(st.floats(0, 100), rands)
def test_retry_after_is_honoured_with_a_little_jitter_and_a_cap(told, rand):
    policy = RetryPolicy()
    wait = policy.wait(0, told, rand)
    expected = min(told, policy.max_retry_after)
    assert expected <= wait <= expected * (1 + policy.jitter)


@given(policies, rands)
def test_backoff_grows_to_its_cap_and_its_random_part_is_bounded(policy, rand):
    waits = [policy.wait(n, None, rand) for n in range(12)]
    for n, wait in enumerate(waits):
        step = min(policy.cap, policy.base * policy.factor ** n)
        assert step * (1 - policy.jitter) - 1e-9 <= wait <= step + 1e-9
    tops = [policy.wait(n, None, 0.0) for n in range(12)]
    assert tops == sorted(tops)


def test_the_default_policy_backs_off_as_documented():
    policy = RetryPolicy()
    assert [policy.wait(n, None, 0.0) for n in range(7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert [round(policy.wait(n, None, 0.999999), 6) for n in range(2)] == [0.125, 0.25]
    assert RetryPolicy.never().next_wait(retries=0, elapsed=0, status=429, failure=None, retry_after=1,
                                         idempotent=True, reached=True, rand=0) is None


def test_500_is_retried_a_few_times_only():
    policy = RetryPolicy()
    kw = dict(elapsed=0, status=500, failure=None, retry_after=None, idempotent=True, reached=True, rand=0)
    assert [policy.next_wait(retries=n, **kw) is not None for n in range(5)] == [True, True, True, False, False]
    assert policy.next_wait(retries=4, **{**kw, "retry_after": 1}) is not None


def test_retry_after_header_forms():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1 ") == 1.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=30)
    assert 25 <= parse_retry_after(format_datetime(later, usegmt=True)) <= 30
    assert parse_retry_after(format_datetime(later - dt.timedelta(hours=1), usegmt=True)) == 0.0


def test_what_counts_as_idempotent():
    from arena_run.cluster.transport import APPLY_PATCH, is_idempotent

    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    assert is_idempotent("GET", "application/json", None)
    assert is_idempotent("PATCH", APPLY_PATCH, obj)
    locked = {**obj, "metadata": {"name": "x", "resourceVersion": "12"}}
    assert not is_idempotent("PATCH", APPLY_PATCH, locked)  # its own first copy would make the retry a 409
    assert not is_idempotent("PATCH", "application/merge-patch+json", obj)
    assert is_idempotent("DELETE", "application/json", {"preconditions": {"uid": "u-1"}})
    assert not is_idempotent("DELETE", "application/json", {"propagationPolicy": "Background"})
    assert not is_idempotent("POST", "application/json", obj)
    assert not is_idempotent("PUT", "application/json", obj)


# --- decoding answers: orjson where installed, the standard library's json otherwise ---------------

import json as _json  # noqa: E402

from hypothesis import given as _given, strategies as _st  # noqa: E402

from arena_run.cluster import transport as _transport  # noqa: E402

_JSON = _st.recursive(
    _st.none() | _st.booleans() | _st.integers() | _st.floats(allow_nan=False, allow_infinity=False)
    | _st.text(_st.characters(codec=None)),  # lone surrogates too: json writes them as \ud800
    lambda inner: _st.lists(inner, max_size=4) | _st.dictionaries(_st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@_given(_st.dictionaries(_st.text(max_size=5), _JSON, max_size=4))
def test_an_answer_decodes_as_the_standard_library_decodes_it(value):
    """orjson refuses integers beyond 64 bits and lone surrogates, which json reads: those fall back."""
    data = _json.dumps(value).encode()
    expected = _json.loads(data)
    assert _transport._decode(data, "GET", "/x") == expected
    assert _transport._loads_with(None)(data) == expected
    fast = _transport._fast_loads()
    if fast is not None:
        assert _transport._loads_with(fast)(data) == expected

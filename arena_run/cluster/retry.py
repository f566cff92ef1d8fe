"""Which failed requests are sent again, and when: client-go's rules, bounded.

client-go (`rest/request.go`, `rest/with_retry.go`) sends a request again when
the answer carries `Retry-After` (429 from API Priority and Fairness, a 5xx
from a server shutting down), waiting as told, up to 10 times; a GET also
after a connection reset.  arena-run does the same and a little more, because
everything it writes is idempotent too:

- what may be repeated: reads, server-side apply PATCHes (the same patch
  twice is the same object) and deletes preconditioned on a uid (the second
  one finds the object gone: 404, or a namesake: 409).  Anything else — a
  create, an update, an apply conditional on a resourceVersion (its own
  first copy would turn the second into a 409 that looks like someone
  else's write) — only when the request surely did not run: a 429 (APF
  rejects before the handler), or no connection made.
  A caller that knows better passes `idempotent=True` (see Transport.request);
  a create sent again after a reset may then be answered 409 AlreadyExists
  for its own first copy, which that caller must take as success (for
  example by reading the object and finding its own identity in it).
- on what: 429, 502, 503, 504 (and 500 a few times: a webhook or storage
  hiccup, but also a deterministic admission failure, so not for long);
  a connection reset, a broken or timed-out response.  A refused or
  unresolvable connection is repeated only once the server has answered in
  this session, so a wrong kubeconfig still fails at once.
- how long: `Retry-After` when given (capped), else exponential backoff from
  `base` doubling to `cap`; each wait has a random part (`jitter`) so that
  many clients rejected together do not come back together.  At most
  `max_retries` retries, and none that would start more than `max_elapsed`
  seconds after the first attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

# Failure kinds, for requests that got no usable answer.
NOT_SENT = "not-sent"  # refused, connect timeout, name resolution: the server saw nothing
RESET = "reset"  # the connection broke after the request may have reached the server
TIMEOUT = "timeout"  # no answer (or no more of it) within the read timeout
BROKEN = "broken"  # the answer broke off or could not be read

RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRIES_500 = 3


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 10  # client-go's default number of retries
    max_elapsed: float = 60.0  # seconds from the first attempt after which no retry starts
    base: float = 0.25  # first backoff, seconds
    factor: float = 2.0
    cap: float = 8.0  # longest backoff, seconds
    jitter: float = 0.5  # the random share of each wait
    max_retry_after: float = 30.0  # a longer Retry-After is cut to this

    @classmethod
    def never(cls) -> "RetryPolicy":
        """Every failure is final (for tests that want to see the first one)."""
        return cls(max_retries=0)

    def wait(self, retries: int, retry_after: Optional[float], rand: float) -> float:
        """Seconds before retry number retries+1; rand is uniform in [0, 1)."""
        if retry_after is not None:
            # The server's word, plus a little, so the rejected do not return in step.
            told = min(max(retry_after, 0.0), self.max_retry_after)
            return told + told * self.jitter * rand
        step = min(self.cap, self.base * self.factor ** retries)
        return step - step * self.jitter * rand

    def next_wait(self, *, retries: int, elapsed: float, status: Optional[int], failure: Optional[str],
                  retry_after: Optional[float], idempotent: bool, reached: bool, rand: float) -> Optional[float]:
        """Seconds to wait before sending again, or None: this failure is final.

        retries: how many retries were made already; elapsed: seconds since
        the first attempt; status: the HTTP status (None: no answer, see
        failure); reached: the server has answered at least once before.
        """
        if not self.retryable(retries=retries, status=status, failure=failure, retry_after=retry_after,
                              idempotent=idempotent, reached=reached):
            return None
        delay = self.wait(retries, retry_after, rand)
        if elapsed + delay > self.max_elapsed:
            return None
        return delay

    def retryable(self, *, retries: int, status: Optional[int], failure: Optional[str],
                  retry_after: Optional[float], idempotent: bool, reached: bool) -> bool:
        if retries >= self.max_retries:
            return False
        if status is not None:
            if status == 429:
                return True  # rejected before anything ran, whatever the method
            if status not in RETRIED_STATUS:
                return False
            if not idempotent and retry_after is None:
                return False
            return status != 500 or retry_after is not None or retries < MAX_RETRIES_500
        if failure == NOT_SENT:
            return reached
        return idempotent and failure in (RESET, TIMEOUT, BROKEN)


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Retry-After as seconds: a number, or an HTTP date (RFC 9110); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime
    import datetime as dt

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max((when - dt.datetime.now(dt.timezone.utc)).total_seconds(), 0.0)

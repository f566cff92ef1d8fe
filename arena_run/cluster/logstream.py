"""A pod's log as it arrives: the one answer that is read as a stream, not decoded."""

from __future__ import annotations

import threading
import time
from typing import Any, Iterator

from .errors import ClusterError, transport_failure


class LogStream:
    """A pod's log as byte chunks (iterate it); stop() ends it from another thread.

    A kubelet closes a followed log when the container ends; stop() is for
    a caller that learns of the end some other way (or wants to stop): the
    read blocked on the socket returns, and iteration ends without an error.
    """

    def __init__(self, resp: Any, pod: str):
        self._resp = resp
        self._pod = pod
        self._stopped = False
        self.finished = threading.Event()  # set once iteration is over, however it ended
        self.last_chunk = time.monotonic()  # when the last bytes arrived (or the stream opened)

    def __iter__(self) -> Iterator[bytes]:
        from urllib3.exceptions import HTTPError

        try:
            for chunk in self._resp.stream(4096, decode_content=True):
                self.last_chunk = time.monotonic()
                yield chunk
        except (HTTPError, OSError, ValueError) as exc:
            if not self._stopped:
                raise ClusterError(f"the log of {self._pod} broke off: {transport_failure(exc)[1]}") from None
        finally:
            self.finished.set()
            self._resp.close()  # read to its end or abandoned: never back into the pool half-read
            self._resp.release_conn()

    def stop(self) -> None:
        import socket

        self._stopped = True
        try:
            self._resp.shutdown()  # urllib3 >= 2.3: unblocks a read in another thread
        except (AttributeError, ValueError, RuntimeError, OSError, NotImplementedError):
            sock = getattr(getattr(self._resp, "_connection", None), "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RD)
                except OSError:
                    pass

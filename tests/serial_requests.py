"""Test-only middleware: one request at a time in the test web server.

pytest-django's ``live_server`` is a threaded server, and with the in-memory SQLite test database
every thread shares one connection. Two browser requests at once (a page and its favicon) then
interleave their transactions on that connection: one commits the other's savepoint away ("no
such savepoint"). Real sites have a connection per thread; the test server gets this lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.Lock()


def serial_requests(get_response: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def middleware(request: Any) -> Any:
        with _LOCK:
            return get_response(request)

    return middleware

"""Who gets into the HTTP API, and with how much: every request passes here before the
app (plain ASGI: a BaseHTTPMiddleware costs a task and a stream per request).

For /v1/ the key is checked before a byte of the body is read (401), and only then is
the request counted: against the in-flight limit and its partner's share of it, so a
stranger holds no slot and one partner cannot take them all (503, Retry-After). The
body is then read here, whole or not at all: over the size limit (whatever the headers
claimed, chunked or not) the reading stops and the answer is 413; slower than the read
timeout, 408. The app gets the body already read.

Every answer carries no-store and nosniff (most carry case data), and an exception no
handler answered is logged by its type alone (its message may hold SQL parameters,
that is request content) and answered 500 {"error", "code": "internal"}.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edi278 import log
from edi278.store.partners import Caller

LOG = log.get("edi278.http")
RETRY_AFTER_SECONDS = 1
SECURITY_HEADERS = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]
# After an answer given with the body unread: the connection is closed, else the server
# would go on reading (and dropping) whatever the client still sends.
CLOSE = (b"connection", b"close")
GUARDED = "/v1/"  # the API proper: a key, a slot and a bounded body
METRICS = "/metrics"


@dataclass
class Limits:
    max_body: int
    max_inflight: int
    max_per_partner: int
    read_timeout: float  # seconds to receive a whole body
    metrics_key: str | None = None  # when set, /metrics wants `Authorization: Bearer KEY`
    inflight: int = 0  # changed on the event loop only: no lock needed
    per_partner: dict[int, int] = field(default_factory=dict)


class Refused(Exception):
    def __init__(self, status: int, error: str, code: str, *headers: tuple[bytes, bytes]) -> None:
        super().__init__(code)
        self.status, self.error, self.code, self.headers = status, error, code, headers


class Admission:
    """See the module. `identify` is the key lookup (blocking: run on a thread);
    `counted` takes each request's route, status and seconds."""

    def __init__(
        self,
        app: ASGIApp,
        limits: Limits,
        identify: Callable[[str | None], Caller | None],
        counted: Callable[[str, int, float], None],
    ) -> None:
        self.app, self.limits, self.identify, self.counted = app, limits, identify, counted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status, answered = time.perf_counter(), 500, False

        async def sending(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                message = {**message, "headers": [*message.get("headers", ()), *SECURITY_HEADERS]}
            await send(message)

        try:
            await self._admit(scope, receive, sending)
        except Refused as refused:
            await _refuse(sending, refused)
        except Exception as error:  # the last word: nothing may escape with data in it
            LOG.error("http.failed", route=_route(scope), error=type(error).__name__)
            if not answered:
                await _refuse(sending, INTERNAL)
        finally:
            elapsed = time.perf_counter() - started
            self.counted(_route(scope), status, elapsed)
            LOG.info("http.request", route=_route(scope), method=scope["method"], status=status,
                     duration_ms=round(elapsed * 1000, 1))  # fmt: skip

    async def _admit(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path == METRICS:
            self._check_metrics_key(scope)
        if not path.startswith(GUARDED):
            await self.app(scope, receive, send)
            return
        key = _header(scope, b"x-api-key")
        caller = await to_thread.run_sync(self.identify, key.decode("latin-1") if key else None)
        if caller is None:  # before the body: a stranger's upload is never read
            raise Refused(401, "a valid X-API-Key header is required", "unauthorized", CLOSE)
        limits, partner = self.limits, caller.partner_id
        if limits.inflight >= limits.max_inflight:
            raise _busy(f"{limits.inflight} requests in hand")
        if limits.per_partner.get(partner, 0) >= limits.max_per_partner:
            raise _busy(f"{limits.max_per_partner} requests of this partner in hand")
        limits.inflight += 1
        limits.per_partner[partner] = limits.per_partner.get(partner, 0) + 1
        try:
            body = await self._read_body(scope, receive)
            if body is None:
                return  # the caller went away
            await self.app(scope, _replaying(body, receive), send)
        finally:
            limits.inflight -= 1
            limits.per_partner[partner] -= 1
            if not limits.per_partner[partner]:
                del limits.per_partner[partner]

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, None if the client disconnected, or Refused (413, 408)."""
        limit = self.limits.max_body
        claimed = _header(scope, b"content-length")
        if claimed.isdigit() and int(claimed) > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(self.limits.read_timeout) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:  # stop here: the rest is never read or kept
                    raise _too_large(limit)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
        assert deadline.cancelled_caught
        raise Refused(408, f"the body took longer than {self.limits.read_timeout:g} s to arrive",
                      "read_timeout", CLOSE)  # fmt: skip

    def _check_metrics_key(self, scope: Scope) -> None:
        wanted = self.limits.metrics_key
        if not wanted:
            return
        given = _header(scope, b"authorization")
        if not hmac.compare_digest(given, b"Bearer " + wanted.encode()):
            raise Refused(401, "/metrics needs Authorization: Bearer and the metrics key",
                          "unauthorized")  # fmt: skip


INTERNAL = Refused(500, "internal error; see the server's log", "internal")


def _busy(why: str) -> Refused:
    # nothing was read or recorded: the same request may simply come again
    return Refused(
        503,
        f"busy: {why}; nothing was recorded, send it again after {RETRY_AFTER_SECONDS} s",
        "busy",
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
    )


def _too_large(limit: int) -> Refused:
    return Refused(413, f"body over {limit} bytes", "too_large", CLOSE)


async def _refuse(send: Send, refused: Refused) -> None:
    body = json.dumps({"error": refused.error, "code": refused.code}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), *refused.headers]  # fmt: skip
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The app's receive: the body read here, then the client's own (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _header(scope: Scope, name: bytes) -> bytes:
    return next((value for key, value in scope["headers"] if key == name), b"")


def _route(scope: Scope) -> str:
    return getattr(scope.get("route"), "path", "unmatched")

"""The bot's HTTP client for the Bot API: a ``telegram.request.BaseRequest``.

Why not PTB's default ``HTTPXRequest``: it costs about 2.3-3.3 ms of CPU per Bot API call in
this bot (httpx over httpcore). On a small machine serving many chats the HTTP client was the
largest CPU cost of a reply, so this class sends

* the bot's ordinary calls (a JSON body, POST, no proxy: every ``sendMessage``,
  ``editMessage*``, ``answerCallbackQuery``, ``getUpdates``) as HTTP/1.1 over kept-alive
  asyncio connections, the response parsed by ``httptools`` (llhttp, the parser of Node.js and
  uvicorn): about 0.2 ms of CPU per call;
* everything else through one ``aiohttp.ClientSession``: uploads (multipart), downloads (GET),
  and every request when a proxy is configured: about 0.4 ms per call.

Measured with 1,000 ``sendMessage`` from 8 concurrent senders against the local Bot API
stand-in (``tests/botapi_standin.py``) on a 2-core machine: 0.16-0.27 ms of client CPU per call
on the JSON path, 0.3-0.5 ms through aiohttp (the two interleaved in one process).
The JSON path is small because it has little to do: one origin (the Bot API server), no
cookies, redirects, proxies, compression or uploads; a library client pays for all of those on
every call. aiohttp stays for what needs them.

PTB documents subclassing ``telegram.request.BaseRequest`` as the supported way to replace its
networking backend (``ApplicationBuilder.request`` / ``.get_updates_request`` take an instance);
PTB keeps everything above the transport: status codes to exceptions, JSON parsing, and the
``getUpdates`` read timeout (the long-poll timeout added to :attr:`BotApiRequest.read_timeout`).

aiohttp and httptools are edge dependencies like telegram itself: only the Telegram edge imports
this module.
"""

from __future__ import annotations

import asyncio
import functools
import select
import ssl
import urllib.parse
import urllib.request
from typing import Final

import aiohttp
import httptools
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_JSON_HEADERS: Final = {"Content-Type": "application/json"}
_POOL_TIMEOUT_MESSAGE: Final = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent "
    "to Telegram. Consider adjusting the connection pool size or the pool timeout."
)


class BotApiRequest(BaseRequest):
    """:class:`telegram.request.BaseRequest` for the Bot API: the JSON path's kept-alive
    connections for ordinary calls, one ``aiohttp.ClientSession`` for the rest.

    The arguments and their defaults mirror ``telegram.request.HTTPXRequest``; a timeout passed
    to :meth:`do_request` (for example by a Bot method's ``read_timeout=``) replaces the default
    given here, ``None`` meaning no limit.

    How the four PTB timeouts map onto aiohttp, which has different knobs:

    * ``pool_timeout``: the time to wait for a free connection when ``connection_pool_size``
      requests are already in flight. aiohttp's connector has no timeout of its own for that
      wait (it counts against ``ClientTimeout.connect``), so this class keeps a semaphore of
      ``connection_pool_size`` in front of the connector and waits on it for at most
      ``pool_timeout``; running out raises :exc:`telegram.error.TimedOut` with HTTPXRequest's
      "Pool timeout" message, and the request is not sent. The connector (``limit`` the same
      size) therefore never has to wait itself.
    * ``connect_timeout`` -> ``ClientTimeout.connect``: DNS resolution, TCP connect and the TLS
      handshake of a new connection (reusing a pooled connection takes no time).
    * ``read_timeout`` -> ``ClientTimeout.sock_read``: the longest wait for the next bytes of the
      response, the same per-read meaning as httpx's.
    * ``write_timeout``: aiohttp has no write timeout. A JSON request body (a few kB) fits the
      socket's send buffer at once, so the write timeout of ordinary calls has nothing to bound
      and is not applied. A request that uploads files (``media_write_timeout`` by default, as in
      HTTPXRequest) is bounded as a whole instead: ``ClientTimeout.total`` is set to
      ``connect + write + read`` (no total limit if any of the three is ``None``), so a stalled
      upload ends with TimedOut. Unlike httpx's per-write timeout this also ends an upload that
      is still progressing but slower than that budget; pass a larger ``write_timeout`` to the
      Bot method for big files.

    The JSON path (see the module's docstring) applies the same pool and connect timeouts;
    ``read_timeout`` bounds the whole wait for the response once the request is written (a JSON
    answer arrives in one or two reads, so this is httpx's per-read limit in practice). Its
    connections are kept alive for :data:`KEEPALIVE_SECONDS` of idleness, as aiohttp's are; one
    that timed out, failed or whose caller was cancelled is closed, never reused (a late answer
    would be read as the next request's). The response must carry a Content-Length or be
    chunked, as every Bot API server's does; one ended by closing the connection is a
    NetworkError.

    aiohttp speaks HTTP/1.1 only. Unlike httpx, this class ignores the ``HTTP(S)_PROXY`` and
    ``ALL_PROXY`` environment variables (aiohttp's ``trust_env`` costs two thread-pool hops per
    request); pass ``proxy`` instead.

    Args:
        connection_pool_size: The most connections (and requests in flight) at a time.
        read_timeout: Seconds to wait for response data; see above.
        write_timeout: Seconds for writing a request without files; see above.
        connect_timeout: Seconds to open a new connection.
        pool_timeout: Seconds to wait for a free connection.
        media_write_timeout: Like ``write_timeout``, for requests that upload files.
        proxy: An ``http://`` proxy URL for every request, or ``None``.
        ssl_context: The TLS settings of ``https://`` connections (a private CA's certificate,
            for a Bot API server of one's own); ``None``: the system's certificate authorities.
    """

    __slots__ = (
        "_connect_timeout",
        "_default_timeout",
        "_idle",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_proxy",
        "_read_timeout",
        "_session",
        "_slots",
        "_ssl",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 64,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        # The timeout of a call without files and with the default timeouts, built once.
        self._default_timeout = _client_timeout(read_timeout, write_timeout, connect_timeout, False)
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        self._idle: dict[_Origin, list[_Connection]] = {}  # the JSON path's kept-alive ones
        self._ssl = ssl_context

    @property
    def read_timeout(self) -> float | None:
        """See :attr:`telegram.request.BaseRequest.read_timeout`: the default read timeout."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the client session (its connection pool); a no-op when it is open already."""
        if self._session is not None and not self._session.closed:
            return
        self._slots = asyncio.Semaphore(self._pool_size)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=self._ssl or True),
            headers={"User-Agent": self.USER_AGENT},
            timeout=self._default_timeout,
            # The Bot API sets no cookies; the default jar would filter cookies on every request.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def shutdown(self) -> None:
        """Close the session and its connections; a no-op when it is not open."""
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See :meth:`telegram.request.BaseRequest.do_request`: send, return status and body."""
        session, slots = self._session, self._slots
        if session is None or session.closed or slots is None:
            raise RuntimeError("This BotApiRequest is not initialized!")

        files = request_data is not None and request_data.contains_files
        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            if files:
                data = _form_data(request_data)
            else:
                data, headers = request_data.json_payload, _JSON_HEADERS

        defaults = (
            not files
            and isinstance(read_timeout, DefaultValue)
            and isinstance(connect_timeout, DefaultValue)
        )
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout

        if slots.locked():
            try:
                async with asyncio.timeout(pool_timeout):
                    await slots.acquire()
            except TimeoutError as err:
                raise TimedOut(_POOL_TIMEOUT_MESSAGE) from err
        else:
            await slots.acquire()  # a free slot: returns at once
        try:
            if not files and method == "POST" and self._proxy is None:
                body = b"" if data is None else data
                assert isinstance(body, bytes)
                return await self._post_json(url, body, read_timeout, connect_timeout)
            if isinstance(write_timeout, DefaultValue):
                write_timeout = self._media_write_timeout if files else self._write_timeout
            timeout = (
                self._default_timeout
                if defaults
                else _client_timeout(read_timeout, write_timeout, connect_timeout, files)
            )
            async with session.request(
                method, url, data=data, headers=headers, timeout=timeout, proxy=self._proxy
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # includes aiohttp.ServerTimeoutError; before OSError
            raise TimedOut from err
        except (aiohttp.ClientError, OSError) as err:
            # The class name helps when the message is empty (ServerDisconnectedError, ...).
            # Some of aiohttp's messages name the URL, and so the token: not those.
            detail = str(err)
            if isinstance(err, aiohttp.ClientResponseError):
                detail = f"{err.status}, {err.message}"
            elif isinstance(err, aiohttp.InvalidURL):
                detail = "invalid URL"
            raise NetworkError(f"aiohttp.{type(err).__name__}: {detail}") from err
        finally:
            slots.release()

    async def _post_json(
        self, url: str, body: bytes, read_timeout: float | None, connect_timeout: float | None
    ) -> tuple[int, bytes]:
        """POST a JSON body on a kept-alive connection (the caller holds a pool slot)."""
        origin, head = _target(url)
        loop = asyncio.get_running_loop()
        connection = self._idle_connection(origin, loop.time())
        if connection is None:
            connection = await self._connect(origin, connect_timeout)
        try:
            status, payload = await connection.exchange(
                head + b"%d\r\n\r\n" % len(body) + body, read_timeout
            )
        except BaseException:
            connection.close()  # its state is unknown: a late answer must not be read as another
            raise
        if connection.reusable and self._session is not None:  # not shut down meanwhile
            connection.idle_since = loop.time()
            self._idle.setdefault(origin, []).append(connection)
        else:
            connection.close()
        return status, payload

    def _idle_connection(self, origin: _Origin, now: float) -> _Connection | None:
        """The most recently used idle connection to ``origin`` that is still open, if any."""
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.reusable and now - connection.idle_since < KEEPALIVE_SECONDS:
                return connection
            connection.close()
        return None

    async def _connect(self, origin: _Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _transport, connection = await loop.create_connection(
                    _Connection, host, port, ssl=context
                )
        except TimeoutError as err:
            raise TimedOut("Timed out while connecting to the Bot API server") from err
        except OSError as err:  # includes ssl.SSLError
            raise NetworkError(f"{type(err).__name__}: {err}") from err
        return connection


class UpdatesRequest(BotApiRequest):
    """The ``getUpdates`` request: a :class:`BotApiRequest` that leaves out, before PTB parses
    them, the parts of a pressed button's message that the bot never reads.

    A ``callback_query`` update carries the whole message its button is on: the question's text
    with every formatting entity, and its keyboard. PTB turns each into objects (an entity, a
    button, a row), about 0.1 ms of the 0.23 ms it takes to parse a rating's update; the
    handlers use the message's id, chat and whether it has text (a photo's is its caption), and
    send what they show from the catalog. So the message's ``entities``, ``caption_entities``
    and ``reply_markup`` are dropped here; every other update, and every other field, is parsed
    as Telegram sent it (a command's entities are what ``CommandHandler`` matches on).
    ``BaseRequest.parse_json_payload`` is PTB's documented place for such a customization.
    """

    __slots__ = ()

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        data = BaseRequest.parse_json_payload(payload)
        updates = data.get("result")
        if isinstance(updates, list):
            for update in updates:
                query = update.get("callback_query") if isinstance(update, dict) else None
                message = query.get("message") if isinstance(query, dict) else None
                if isinstance(message, dict):
                    for key in _UNREAD_OF_A_PRESSED_MESSAGE:
                        message.pop(key, None)
        return data


_UNREAD_OF_A_PRESSED_MESSAGE: Final = ("entities", "caption_entities", "reply_markup")

KEEPALIVE_SECONDS: Final = 15.0  # an idle connection's lifetime, as aiohttp's connector keeps it

_Origin = tuple[str, str, int]  # scheme, host, port


@functools.lru_cache(maxsize=64)
def _target(url: str) -> tuple[_Origin, bytes]:
    """The origin of a Bot API URL and the request head up to the Content-Length's value."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NetworkError("The Bot API URL must be http:// or https:// with a host")
    default = 443 if parts.scheme == "https" else 80
    port = parts.port or default
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6 literal
    host = name if port == default else f"{name}:{port}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {BaseRequest.USER_AGENT}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    )
    try:
        encoded = head.encode("ascii")
    except UnicodeEncodeError:
        raise NetworkError("The Bot API URL must be ASCII (IDNA for a host name)") from None
    return (parts.scheme, parts.hostname, port), encoded


class _Connection(asyncio.Protocol):
    """One kept-alive HTTP/1.1 connection of the JSON path: one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.chunks: list[bytes] = []
        self.done = True  # no response outstanding
        self.open = False
        self.keep_alive = False
        self.idle_since = 0.0

    @property
    def reusable(self) -> bool:
        """Open, its last answer read whole, kept alive, and nothing arrived since: a server
        that closed it while it was idle has sent its FIN (or TLS close), which shows as
        something to read before the event loop has run ``connection_lost``."""
        if not (self.open and self.done and self.keep_alive) or self.transport is None:
            return False
        if self.transport.is_closing():
            return False
        sock = self.transport.get_extra_info("socket")
        return sock is None or not _readable(sock.fileno())

    async def exchange(self, request: bytes, timeout: float | None) -> tuple[int, bytes]:
        """Write one request and wait for its whole response (``timeout`` seconds at most)."""
        assert self.transport is not None and self.done
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        self.waiter = waiter
        self.done = False
        self.transport.write(request)
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            return await waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()

    # ---- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.open = True

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as err:
            self._fail(NetworkError(f"Invalid HTTP response from the Bot API server: {err!r}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        reason = f": {exc}" if exc else ""
        self._fail(NetworkError(f"The Bot API server closed the connection{reason}"))

    # ---- httptools callbacks
    def on_message_begin(self) -> None:
        self.chunks = []
        if self.done:  # an answer nobody asked for (a server's 408, say): not reused
            self.open = False

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # an interim answer: the real one follows
            return
        self.keep_alive = self.parser.should_keep_alive()
        self.done = True
        waiter = self.waiter
        if waiter is None or waiter.done():  # an answer nobody asked for: never reuse this one
            self.keep_alive = False
            return
        waiter.set_result((status, b"".join(self.chunks)))

    def _fail(self, error: Exception) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


def _readable(fd: int) -> bool:
    """Whether the socket has something to read (data, or the peer's FIN), without waiting."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [], 0)  # Windows
    return bool(readable)


def _expire(waiter: asyncio.Future[tuple[int, bytes]]) -> None:
    if not waiter.done():
        waiter.set_exception(TimedOut("Timed out waiting for the Bot API server's answer"))


def _client_timeout(
    read: float | None, write: float | None, connect: float | None, files: bool
) -> aiohttp.ClientTimeout:
    """The aiohttp timeouts for one request; see :class:`BotApiRequest` for the mapping."""
    total = None
    if files and read is not None and write is not None and connect is not None:
        total = connect + write + read
    return aiohttp.ClientTimeout(total=total, connect=connect, sock_read=read)


def _form_data(request_data: RequestData) -> aiohttp.FormData:
    """``multipart/form-data`` as httpx builds it: the JSON-encoded parameters, then the files."""
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTPS_PROXY, ALL_PROXY, NO_PROXY, any
    case), as httpx, PTB's default client, would use it; None for a direct connection."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies_environment()
    return proxies.get(parts.scheme) or proxies.get("all") or None

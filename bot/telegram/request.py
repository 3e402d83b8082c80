"""The bot's Bot API client: a ``telegram.request.BaseRequest`` over one ``aiohttp.ClientSession``.

PTB documents subclassing ``telegram.request.BaseRequest`` as the supported way to replace its
networking backend (``ApplicationBuilder.request`` / ``.get_updates_request`` take an instance).
PTB keeps everything above the transport: status codes to exceptions, JSON parsing, and the
``getUpdates`` read timeout (the long-poll timeout added to :attr:`BotApiRequest.read_timeout`).

The design is that of the PTB team's ``AiohttpRequest`` (ptbcontrib.aiohttp_request). Why
aiohttp rather than PTB's default ``HTTPXRequest``: httpx over httpcore cost 2.3-3.3 ms of CPU
per Bot API call in this bot, aiohttp 0.3-0.5 ms, and on a small machine serving many chats the
HTTP client was the largest CPU cost of a reply. Where this class differs from ptbcontrib's:

* PTB's four timeouts keep their meaning (see :class:`BotApiRequest`), the pool timeout
  included, so a full pool is told apart from a slow server;
* a call without files is sent as a JSON body (the Bot API takes ``application/json``), the
  parameters PTB has already encoded, rather than as a form;
* the errors say whether the request may have reached the server (:exc:`NotSent`).

aiohttp is an edge dependency like telegram itself: only the Telegram edge imports this module.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.parse
import urllib.request
from typing import Any, Final

import aiohttp
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

_JSON_HEADERS: Final = {"Content-Type": "application/json"}
_POOL_TIMEOUT_MESSAGE: Final = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent "
    "to Telegram. Consider adjusting the connection pool size or the pool timeout."
)


class NotSent(NetworkError):
    """The request certainly did not reach the server, so sending it again cannot duplicate it:
    no connection could be had (the pool stayed full, the connection was refused, the name did
    not resolve, the TLS handshake or the proxy failed) or the URL is invalid.

    Every other :exc:`telegram.error.NetworkError` (and :exc:`telegram.error.TimedOut`) of
    :class:`BotApiRequest` means "written, outcome unknown": the server may have acted on it.
    """

    __slots__ = ()


class NotSentTimeout(NotSent, TimedOut):
    """A :exc:`NotSent` that is also a :exc:`telegram.error.TimedOut`: no free connection
    within the pool timeout, or no new connection within the connect timeout."""

    __slots__ = ()


class BotApiRequest(BaseRequest):
    """:class:`telegram.request.BaseRequest` over one ``aiohttp.ClientSession``.

    The arguments mirror ``telegram.request.HTTPXRequest``; a timeout passed to
    :meth:`do_request` (for example by a Bot method's ``read_timeout=``) replaces the default
    given here, ``None`` meaning no limit. The Application uses two instances, as PTB's builder
    does: one for the bot's calls and one of ``connection_pool_size=1`` for ``getUpdates``.

    How PTB's four timeouts map onto aiohttp, which has different knobs:

    * ``pool_timeout``: the time to wait for a free connection when ``connection_pool_size``
      requests are already in flight. aiohttp counts that wait against ``ClientTimeout.connect``
      together with opening a connection, so this class keeps a semaphore of
      ``connection_pool_size`` in front of the connector (whose ``limit`` is the same, so it
      never waits itself) and waits on it for at most ``pool_timeout``; running out raises
      :exc:`NotSentTimeout` with HTTPXRequest's "Pool timeout" message.
    * ``connect_timeout`` -> ``ClientTimeout.connect``: DNS resolution, TCP connect, the proxy
      and the TLS handshake of a new connection (reusing a pooled connection takes no time).
      Running out raises :exc:`NotSentTimeout`.
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

    Errors: :exc:`NotSent` (or :exc:`NotSentTimeout`) when the request certainly did not reach
    the server; plain :exc:`telegram.error.TimedOut` when the answer was slower than the read
    timeout (or an upload than its total) and :exc:`telegram.error.NetworkError` when the
    connection broke, both after the request may have been written.

    The proxy is explicit (see :func:`env_proxy` for the environment's): aiohttp's
    ``trust_env`` would look the environment up in a worker thread on every request.

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
        self._ssl = ssl_context
        # The timeout of a call without files and with the default timeouts, built once.
        self._default_timeout = _client_timeout(read_timeout, write_timeout, connect_timeout, False)
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def read_timeout(self) -> float | None:
        """See :attr:`telegram.request.BaseRequest.read_timeout`: the default read timeout."""
        return self._read_timeout

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """PTB's parsing, without its log line: on invalid JSON, PTB logs the whole answer at
        ERROR, and an answer carries people's messages. Only its size is said here."""
        try:
            parsed: dict[str, Any] = json.loads(payload.decode("utf-8", "replace"))
        except ValueError as exc:
            raise TelegramError(f"Invalid server response ({len(payload)} bytes)") from exc
        return parsed

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
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        # float | None, or BaseRequest.DEFAULT_NONE for "not given": see _given.
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
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

        default = BaseRequest.DEFAULT_NONE
        if not files and read_timeout is default and connect_timeout is default:
            timeout = self._default_timeout
        else:
            write_default = self._media_write_timeout if files else self._write_timeout
            timeout = _client_timeout(
                _given(read_timeout, self._read_timeout),
                _given(write_timeout, write_default),
                _given(connect_timeout, self._connect_timeout),
                files,
            )

        if slots.locked():
            try:
                async with asyncio.timeout(_given(pool_timeout, self._pool_timeout)):
                    await slots.acquire()
            except TimeoutError:
                raise NotSentTimeout(_POOL_TIMEOUT_MESSAGE) from None
        else:
            await slots.acquire()  # a free slot: returns at once
        try:
            async with session.request(
                method, url, data=data, headers=headers, timeout=timeout, proxy=self._proxy
            ) as response:
                return response.status, await response.read()
        # The order matters: each is a subclass of some that follow. Some of aiohttp's messages
        # name the URL, and so the token: those are left out.
        except aiohttp.ConnectionTimeoutError as err:
            raise NotSentTimeout("Timed out while connecting to the Bot API server") from err
        except TimeoutError as err:  # sock_read (aiohttp.SocketTimeoutError) or an upload's total
            raise TimedOut("Timed out waiting for the Bot API server's answer") from err
        except (aiohttp.ClientConnectorError, aiohttp.ClientHttpProxyError) as err:
            # No connection: refused, DNS, TLS handshake, proxy (a CONNECT refused included).
            raise NotSent(_describe(err)) from err
        except aiohttp.InvalidURL as err:
            raise NotSent(f"aiohttp.{type(err).__name__}: invalid URL") from err
        except (aiohttp.ClientError, OSError) as err:
            raise NetworkError(_describe(err)) from err
        finally:
            slots.release()


def _given(timeout: object, default: float | None) -> float | None:
    """A timeout passed to :meth:`BotApiRequest.do_request`, or ``default`` when PTB passed
    ``BaseRequest.DEFAULT_NONE`` (not given), which PTB documents checking by identity."""
    if timeout is BaseRequest.DEFAULT_NONE:
        return default
    if timeout is None or isinstance(timeout, int | float):
        return timeout
    raise TypeError(f"A timeout must be a number of seconds or None, not {timeout!r}")


def _describe(err: Exception) -> str:
    """An aiohttp error as a message: its class name (helpful when its message is empty, as
    ServerDisconnectedError's can be) and the message, without the URL for those that have it."""
    detail = str(err)
    if isinstance(err, aiohttp.ClientResponseError):
        detail = f"{err.status}, {err.message}"
    return f"aiohttp.{type(err).__name__}: {detail}"


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

"""The bot's HTTP client for the Bot API: a ``telegram.request.BaseRequest`` on aiohttp.

Why: PTB's default ``HTTPXRequest`` (httpx over httpcore) costs about 2.3-3.3 ms of CPU per
Bot API call in this bot, this class about 0.9-1.2 ms (2000 ``sendMessage`` from 8 concurrent
senders against the local Bot API stand-in, ``tests/botapi_standin.py``, on a 2-core machine).
On a small machine serving many chats, the HTTP client was the largest CPU cost of a reply.

PTB documents subclassing ``telegram.request.BaseRequest`` as the supported way to replace its
networking backend (``ApplicationBuilder.request`` / ``.get_updates_request`` take an instance);
PTB keeps everything above the transport: status codes to exceptions, JSON parsing, and the
``getUpdates`` read timeout (the long-poll timeout added to :attr:`AiohttpRequest.read_timeout`).

aiohttp is an edge dependency like telegram itself: only the Telegram edge imports this module.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import urllib.request
from typing import Final

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_JSON_HEADERS: Final = {"Content-Type": "application/json"}
_POOL_TIMEOUT_MESSAGE: Final = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent "
    "to Telegram. Consider adjusting the connection pool size or the pool timeout."
)


class AiohttpRequest(BaseRequest):
    """:class:`telegram.request.BaseRequest` implemented with one ``aiohttp.ClientSession``.

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
            connector=aiohttp.TCPConnector(limit=self._pool_size),
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
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See :meth:`telegram.request.BaseRequest.do_request`: send, return status and body."""
        session, slots = self._session, self._slots
        if session is None or session.closed or slots is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")

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
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._media_write_timeout if files else self._write_timeout
        timeout = (
            self._default_timeout
            if defaults
            else _client_timeout(read_timeout, write_timeout, connect_timeout, files)
        )

        if slots.locked():
            try:
                async with asyncio.timeout(pool_timeout):
                    await slots.acquire()
            except TimeoutError as err:
                raise TimedOut(_POOL_TIMEOUT_MESSAGE) from err
        else:
            await slots.acquire()  # a free slot: returns at once
        try:
            async with session.request(
                method, url, data=data, headers=headers, timeout=timeout, proxy=self._proxy
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # includes aiohttp.ServerTimeoutError; before OSError
            raise TimedOut from err
        except (aiohttp.ClientError, OSError) as err:
            # The class name helps when the message is empty (ServerDisconnectedError, ...).
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
        finally:
            slots.release()


def _client_timeout(
    read: float | None, write: float | None, connect: float | None, files: bool
) -> aiohttp.ClientTimeout:
    """The aiohttp timeouts for one request; see :class:`AiohttpRequest` for the mapping."""
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

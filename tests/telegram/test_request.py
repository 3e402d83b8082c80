"""bot.telegram.request.BotApiRequest against real servers on 127.0.0.1 (aiohttp's, and raw
asyncio ones for servers that misbehave); no mocks.

Each failure is checked for what it says about the request: NotSent (it certainly did not reach
the server: a full pool, no connection) or a plain TimedOut / NetworkError (it may have).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import BodyPartReader, web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest

from bot.telegram.request import (
    BotApiRequest,
    NotSent,
    NotSentTimeout,
    _client_timeout,
    env_proxy,
)

TOKEN = "123456:AAHttpTestTokenForTestsOnly_0123456789"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # binary, every byte value, 10 kB


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    peer: Any  # the client's (host, port): one per connection
    body: bytes = b""
    parts: list[Part] = field(default_factory=list)


@dataclass
class Server:
    """A tiny Bot API: records requests, answers by method; ``delay`` seconds before answering."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    delay: float = 0.0
    status: int = 200
    release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    def method_url(self, method: str) -> str:
        return f"{self.base_url}{TOKEN}/{method}"

    async def handle(self, request: web.BaseRequest) -> web.Response:
        assert request.transport is not None
        peer = request.transport.get_extra_info("peername")
        seen = Seen(request.method, request.path, dict(request.headers), peer)
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                assert isinstance(part, BodyPartReader) and part.name is not None
                data = bytes(await part.read())
                seen.parts.append(
                    Part(part.name, part.filename, part.headers.get("Content-Type"), data)
                )
        else:
            seen.body = await request.read()
        self.seen.append(seen)
        if self.delay:
            # Until the delay passes or the test releases it, whichever comes first.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), self.delay)
        method = request.path.rsplit("/", 1)[-1]
        params = json.loads(seen.body) if seen.body else {}
        return web.json_response(
            {"ok": self.status == 200, **self.answer(method, params)}, status=self.status
        )

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.status != 200:
            return {"error_code": self.status, "description": "Bad Request: chat not found"}
        if method == "getMe":
            user = {"id": 123456, "is_bot": True, "first_name": "Test", "username": "test_bot"}
            return {"result": user}
        if method in ("sendPhoto", "sendDocument", "sendMessage"):
            chat = {"id": 5, "type": "private", "first_name": "A"}
            text = {"text": params["text"]} if "text" in params else {}
            return {"result": {"message_id": 1, "date": 0, "chat": chat, **text}}
        if method == "getUpdates":
            return {"result": []}
        return {"result": True}


async def serve(
    state: Server, ssl_context: ssl.SSLContext | None = None, keepalive_timeout: float = 75.0
) -> web.ServerRunner:
    """Listen on 127.0.0.1 on an ephemeral port, as tests/botapi/standin.py does."""
    handler = web.Server(state.handle, access_log=None, keepalive_timeout=keepalive_timeout)
    runner = web.ServerRunner(handler, shutdown_timeout=1.0)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    scheme = "https" if ssl_context else "http"
    state.url = f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
    await web.SockSite(runner, sock, ssl_context=ssl_context).start()
    return runner


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    runner = await serve(state)
    try:
        yield state
    finally:
        state.release.set()
        await runner.cleanup()


@pytest.fixture
async def request_() -> AsyncIterator[BotApiRequest]:
    async with BotApiRequest() as request:
        yield request


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handle: Handler) -> AsyncIterator[str]:
    """A server that misbehaves by hand; yields its getMe URL."""
    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/bot{TOKEN}/getMe"
    finally:
        listener.close()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ---- calls that work


async def test_a_json_call_arrives_as_ptb_encodes_it(server: Server) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Show answer", callback_data="a")]])
    async with Bot(TOKEN, base_url=server.base_url, request=BotApiRequest()) as bot:
        message = await bot.send_message(5, "héllo <b>wörld</b>", reply_markup=keyboard)
    assert (message.message_id, message.text) == (1, "héllo <b>wörld</b>")
    [seen] = [s for s in server.seen if s.path.endswith("/sendMessage")]
    assert (seen.method, seen.path) == ("POST", f"/bot{TOKEN}/sendMessage")
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["User-Agent"] == BaseRequest.USER_AGENT
    # PTB's JSON payload: each value JSON-encoded on its own, strings as they are.
    body = json.loads(seen.body)
    assert (body["chat_id"], body["text"]) == ("5", "héllo <b>wörld</b>")
    assert json.loads(body["reply_markup"]) == keyboard.to_dict()


async def test_calls_share_a_kept_alive_connection(server: Server, request_: BotApiRequest) -> None:
    for _ in range(3):
        status, body = await request_.do_request(server.method_url("getMe"), "POST")
        assert (status, json.loads(body)["result"]["username"]) == (200, "test_bot")
    assert len({seen.peer for seen in server.seen}) == 1


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """Servers close idle connections (this one after 50 ms): the next call opens a new one
    rather than fail on the old one, which would leave its outcome unknown."""
    state = Server()
    runner = await serve(state, keepalive_timeout=0.05)
    try:
        async with BotApiRequest() as request:
            for _ in range(2):
                assert (await request.do_request(state.method_url("getMe"), "POST"))[0] == 200
                await asyncio.sleep(0.3)
    finally:
        await runner.cleanup()
    assert len({seen.peer for seen in state.seen}) == 2


async def test_a_request_without_data_has_no_body(server: Server, request_: BotApiRequest) -> None:
    status, _ = await request_.do_request(f"{server.url}/file/bot{TOKEN}/x.png", "GET")
    assert status == 200
    [seen] = server.seen
    assert (seen.method, seen.body) == ("GET", b"")
    assert "Content-Type" not in seen.headers


async def test_error_statuses_are_returned_and_become_ptb_exceptions(server: Server) -> None:
    server.status = 400
    async with BotApiRequest() as request:
        status, body = await request.do_request(server.method_url("sendMessage"), "POST")
        assert status == 400
        assert json.loads(body)["description"] == "Bad Request: chat not found"
        bot = Bot(TOKEN, base_url=server.base_url, request=request)
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(5, "x")


@pytest.mark.parametrize("as_handle", [False, True], ids=["bytes", "file-handle"])
async def test_send_photo_uploads_multipart_with_the_file_bytes(
    server: Server, as_handle: bool
) -> None:
    # A handle PTB does not read itself reaches the request class as a file object.
    handle = InputFile(io.BytesIO(PNG), filename="chart.png", read_file_handle=False)
    photo = handle if as_handle else PNG
    async with Bot(TOKEN, base_url=server.base_url, request=BotApiRequest()) as bot:
        message = await bot.send_photo(5, photo, caption="<b>chart</b>", parse_mode="HTML")
    assert message.message_id == 1
    [upload] = [s for s in server.seen if s.path.endswith("/sendPhoto")]
    assert upload.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert upload.headers["User-Agent"] == BaseRequest.USER_AGENT
    fields = {p.name: p for p in upload.parts}
    assert set(fields) == {"chat_id", "caption", "parse_mode", "photo"}
    assert (fields["chat_id"].data, fields["caption"].data) == (b"5", b"<b>chart</b>")
    assert fields["chat_id"].filename is None
    file = fields["photo"]
    assert file.data == PNG
    # The name and type PTB gives a named handle, or unnamed bytes (it does not sniff images).
    expected = handle if as_handle else InputFile(PNG, attach=True)
    assert (file.filename, file.content_type) == (expected.filename, expected.mimetype)


async def test_send_document_keeps_filename_and_mimetype(server: Server) -> None:
    async with Bot(TOKEN, base_url=server.base_url, request=BotApiRequest()) as bot:
        await bot.send_document(5, b'{"a": 1}\n', filename="export.json")
    [upload] = [s for s in server.seen if s.path.endswith("/sendDocument")]
    [file] = [p for p in upload.parts if p.name == "document"]
    assert (file.filename, file.content_type, file.data) == (
        "export.json",
        "application/json",
        b'{"a": 1}\n',
    )


async def test_requests_queue_for_a_free_connection(server: Server) -> None:
    server.delay = 0.05
    async with BotApiRequest(connection_pool_size=2, pool_timeout=None) as request:
        results = await asyncio.gather(
            *(request.do_request(server.method_url("getMe"), "POST") for _ in range(8))
        )
    assert [status for status, _ in results] == [200] * 8
    assert len(server.seen) == 8
    assert len({seen.peer for seen in server.seen}) == 2


async def test_through_a_proxy(server: Server) -> None:
    """The test server plays the proxy: a plain-HTTP request reaches it in absolute form."""
    url = f"http://api.telegram.invalid/bot{TOKEN}/getMe"  # a name that never resolves
    async with BotApiRequest(proxy=server.url) as request:
        status, body = await request.do_request(url, "POST")
    assert (status, json.loads(body)["result"]["username"]) == (200, "test_bot")
    [seen] = server.seen
    assert (seen.path, seen.headers["Host"]) == (f"/bot{TOKEN}/getMe", "api.telegram.invalid")


async def test_lifecycle(server: Server) -> None:
    request = BotApiRequest()
    url = server.method_url("getMe")
    await request.shutdown()  # never initialized: nothing to do
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(url, "POST")
    await request.initialize()
    await request.initialize()  # idempotent: the same connection is used
    assert (await request.do_request(url, "POST"))[0] == 200
    assert (await request.do_request(url, "POST"))[0] == 200
    assert len({seen.peer for seen in server.seen}) == 1
    await request.shutdown()
    await request.shutdown()  # twice is fine
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(url, "POST")
    await request.initialize()  # a shut-down request can be started again, like HTTPXRequest
    assert (await request.do_request(url, "POST"))[0] == 200
    await request.shutdown()
    with pytest.raises(ValueError, match="at least 1"):
        BotApiRequest(connection_pool_size=0)


# ---- timeouts: sent or not


async def test_a_server_slower_than_read_timeout_times_out_after_sending(server: Server) -> None:
    server.delay = 2.0
    url = server.method_url("sendMessage")
    async with BotApiRequest(read_timeout=0.2) as request:
        with pytest.raises(TimedOut) as info:
            await request.do_request(url, "POST")
        assert not isinstance(info.value, NotSent)
    async with BotApiRequest(read_timeout=30.0) as request:  # the per-call timeout wins
        with pytest.raises(TimedOut):
            await request.do_request(url, "POST", read_timeout=0.2)
    assert len(server.seen) == 2  # both arrived


async def test_a_server_that_never_answers_times_out_after_sending(
    request_: BotApiRequest,
) -> None:
    received = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        received.set()
        await reader.read()  # until the client gives up and closes
        writer.close()

    async with raw_server(silent) as url:
        with pytest.raises(TimedOut) as info:
            await request_.do_request(url, "POST", read_timeout=0.2)
    assert not isinstance(info.value, NotSent)
    assert received.is_set()


async def test_the_answer_after_a_timeout_is_not_taken_for_the_next_calls(
    server: Server, request_: BotApiRequest
) -> None:
    server.delay = 0.3
    async with Bot(TOKEN, base_url=server.base_url, request=request_) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(5, "late", read_timeout=0.1)
        server.delay = 0.0
        assert (await bot.send_message(5, "mine")).text == "mine"
        await asyncio.sleep(0.4)  # the late answer is written meanwhile, to a closed connection
        assert (await bot.send_message(5, "mine too")).text == "mine too"


async def test_an_upload_slower_than_read_timeout_times_out(server: Server) -> None:
    server.delay = 2.0
    async with Bot(TOKEN, base_url=server.base_url, request=BotApiRequest()) as bot:
        with pytest.raises(TimedOut) as info:
            await bot.send_photo(5, PNG, read_timeout=0.2)
    assert not isinstance(info.value, NotSent)


async def test_get_updates_adds_the_poll_timeout_to_read_timeout(server: Server) -> None:
    """PTB reads ``read_timeout`` and adds the long-poll timeout, as with HTTPXRequest."""
    server.delay = 1.0
    request = BotApiRequest(connection_pool_size=1, read_timeout=0.3)
    assert request.read_timeout == 0.3
    async with Bot(TOKEN, base_url=server.base_url, get_updates_request=request) as bot:
        assert await bot.get_updates(timeout=3) == ()  # waits up to 3.3 s for the 1 s answer
        with pytest.raises(TimedOut):
            await bot.get_updates()  # 0.3 s for a 1 s answer


async def test_a_full_pool_is_not_sent(server: Server) -> None:
    server.delay = 2.0
    url = server.method_url("sendMessage")
    async with BotApiRequest(connection_pool_size=1, pool_timeout=0.2) as request:
        busy = asyncio.create_task(request.do_request(url, "POST"))
        while not server.seen:
            await asyncio.sleep(0.01)
        with pytest.raises(NotSentTimeout, match="Pool timeout"):
            await request.do_request(url, "POST")
        assert len(server.seen) == 1  # the second request was not sent
        server.release.set()
        status, _ = await busy
        assert status == 200
        status, _ = await request.do_request(url, "POST")
        assert status == 200  # the slot came back


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listener never accepts and whose backlog is full: a new connection's SYN
    goes unanswered, so connecting takes until the connect timeout."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


async def test_a_connect_timeout_is_not_sent(full_backlog: int) -> None:
    url = f"http://127.0.0.1:{full_backlog}/bot{TOKEN}/getMe"
    async with BotApiRequest(connect_timeout=0.2) as request:
        with pytest.raises(NotSentTimeout, match="connecting"):
            await request.do_request(url, "POST")
        with pytest.raises(NotSentTimeout):  # the per-call timeout wins
            await request.do_request(url, "POST", connect_timeout=0.1)


# ---- no connection: not sent


async def test_a_closed_port_is_not_sent(request_: BotApiRequest) -> None:
    url = f"http://127.0.0.1:{closed_port()}/bot{TOKEN}/getMe"
    with pytest.raises(NotSent, match=r"^aiohttp\.ClientConnectorError: ") as info:
        await request_.do_request(url, "POST")
    assert not isinstance(info.value, TimedOut)
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectorError)


async def test_a_name_that_does_not_resolve_is_not_sent(request_: BotApiRequest) -> None:
    with pytest.raises(NotSent, match="DNS"):  # .invalid never resolves (RFC 6761)
        await request_.do_request(f"http://api.telegram.invalid/bot{TOKEN}/getMe", "POST")


async def test_a_proxy_that_refuses_is_not_sent() -> None:
    async with BotApiRequest(proxy=f"http://127.0.0.1:{closed_port()}") as request:
        with pytest.raises(NotSent, match="ProxyConnectionError"):
            await request.do_request("http://api.telegram.org/bot1:x/getMe", "POST")


async def test_an_invalid_url_is_not_sent_and_not_shown(request_: BotApiRequest) -> None:
    with pytest.raises(NotSent) as info:
        await request_.do_request(f"http:///bot{TOKEN}/getMe", "POST")
    assert TOKEN not in str(info.value)


async def test_bot_methods_raise_not_sent_as_it_is() -> None:
    """PTB passes a TelegramError of the request class through: the push can tell."""
    async with BotApiRequest() as request:
        bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{closed_port()}/bot", request=request)
        with pytest.raises(NotSent):
            await bot.get_me()


# ---- a broken connection: sent, outcome unknown


async def test_a_connection_closed_without_an_answer_may_have_been_sent(
    request_: BotApiRequest,
) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async with raw_server(hang_up) as url:
        with pytest.raises(NetworkError, match=r"^aiohttp\.ServerDisconnectedError") as info:
            await request_.do_request(url, "POST")
    assert not isinstance(info.value, NotSent | TimedOut)


async def test_an_answer_cut_short_may_have_been_sent(request_: BotApiRequest) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"ok": true, "res')
        await writer.drain()
        writer.close()

    async with raw_server(cut) as url:
        with pytest.raises(NetworkError, match=r"^aiohttp\.ClientPayloadError") as info:
            await request_.do_request(url, "POST")
    assert not isinstance(info.value, NotSent | TimedOut)


# ---- settings


def test_timeout_mapping() -> None:
    plain = _client_timeout(read=5.0, write=5.0, connect=3.0, files=False)
    assert (plain.total, plain.connect, plain.sock_read) == (None, 3.0, 5.0)
    upload = _client_timeout(read=5.0, write=20.0, connect=3.0, files=True)
    assert (upload.total, upload.connect, upload.sock_read) == (28.0, 3.0, 5.0)
    unbounded = _client_timeout(read=None, write=20.0, connect=3.0, files=True)
    assert (unbounded.total, unbounded.sock_read) == (None, None)


def test_the_proxy_comes_from_the_environment_as_httpx_would_take_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    api = "https://api.telegram.org/bot"
    assert env_proxy(api) is None
    monkeypatch.setenv("ALL_PROXY", "http://all.example:3128")
    assert env_proxy(api) == "http://all.example:3128"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:8080")
    assert env_proxy(api) == "http://proxy.example:8080"
    monkeypatch.setenv("NO_PROXY", "api.telegram.org")
    assert env_proxy(api) is None


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed: no certificate for the TLS test")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_verifies_the_server_certificate(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    state = Server()
    runner = await serve(state, server_side)
    url = state.method_url("getMe")
    try:
        trusted = ssl.create_default_context(cafile=str(cert))
        async with BotApiRequest(ssl_context=trusted) as request:
            for _ in range(2):
                status, _ = await request.do_request(url, "POST")
                assert status == 200
        async with BotApiRequest() as request:  # the system's authorities do not know it
            with pytest.raises(NotSent, match="CERTIFICATE_VERIFY_FAILED"):
                await request.do_request(url, "POST")
        assert len(state.seen) == 2
    finally:
        await runner.cleanup()


def test_an_invalid_answer_is_an_error_and_its_content_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    cut = b'{"ok": true, "result": {"text": "my private answer"'
    with pytest.raises(TelegramError, match="Invalid server response"):
        BotApiRequest.parse_json_payload(cut)
    assert "my private answer" not in caplog.text
    assert BotApiRequest.parse_json_payload(b'{"ok": true}') == {"ok": True}

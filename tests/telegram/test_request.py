"""bot.telegram.request.BotApiRequest against real servers on 127.0.0.1 (aiohttp's, and raw
asyncio ones for what a server may do to a kept-alive connection); no mocks."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import BodyPartReader, web
from telegram import Bot, InputFile, Message
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.telegram.request import BotApiRequest, UpdatesRequest, _client_timeout, env_proxy

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

    async def handle(self, request: web.BaseRequest) -> web.Response:
        seen = Seen(request.method, request.path, dict(request.headers))
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
        return web.json_response(
            {"ok": self.status == 200, **self.answer(method)}, status=self.status
        )

    def answer(self, method: str) -> dict[str, Any]:
        if self.status != 200:
            return {"error_code": self.status, "description": "Bad Request: chat not found"}
        if method == "getMe":
            user = {"id": 123456, "is_bot": True, "first_name": "Test", "username": "test_bot"}
            return {"result": user}
        if method in ("sendPhoto", "sendDocument", "sendMessage"):
            chat = {"id": 5, "type": "private", "first_name": "A"}
            return {"result": {"message_id": 1, "date": 0, "chat": chat}}
        if method == "getUpdates":
            return {"result": []}
        return {"result": True}


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """Listen on 127.0.0.1 on an ephemeral port, as tests/botapi/standin.py does."""
    state = Server()
    runner = web.ServerRunner(web.Server(state.handle, access_log=None), shutdown_timeout=1.0)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    state.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    await web.SockSite(runner, sock).start()
    try:
        yield state
    finally:
        state.release.set()
        await runner.cleanup()


@pytest.fixture
async def request_() -> AsyncIterator[BotApiRequest]:
    async with BotApiRequest() as request:
        yield request


def params(**values: object) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in values.items()])


async def test_json_post_arrives_with_body_content_type_and_user_agent(
    server: Server, request_: BotApiRequest
) -> None:
    data = params(chat_id=5, text="héllo <b>wörld</b>", reply_markup={"inline_keyboard": []})
    status, body = await request_.do_request(f"{server.base_url}{TOKEN}/sendMessage", "POST", data)
    assert status == 200
    assert json.loads(body)["result"]["message_id"] == 1
    [seen] = server.seen
    assert (seen.method, seen.path) == ("POST", f"/bot{TOKEN}/sendMessage")
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["User-Agent"] == BaseRequest.USER_AGENT
    # PTB's JSON payload: each value JSON-encoded on its own, strings as they are.
    assert json.loads(seen.body) == {
        "chat_id": "5",
        "text": "héllo <b>wörld</b>",
        "reply_markup": '{"inline_keyboard": []}',
    }
    assert seen.body == data.json_payload


async def test_a_request_without_data_has_no_body(server: Server, request_: BotApiRequest) -> None:
    status, _ = await request_.do_request(f"{server.url}/file/bot{TOKEN}/x.png", "GET")
    assert status == 200
    [seen] = server.seen
    assert (seen.method, seen.body) == ("GET", b"")
    assert "Content-Type" not in seen.headers


async def test_error_statuses_are_returned_and_become_ptb_exceptions(
    server: Server, request_: BotApiRequest
) -> None:
    server.status = 400
    url = f"{server.base_url}{TOKEN}/sendMessage"
    status, body = await request_.do_request(url, "POST", params(chat_id=5, text="x"))
    assert status == 400
    assert json.loads(body)["description"] == "Bad Request: chat not found"
    with pytest.raises(BadRequest, match="Chat not found"):
        await request_.post(url, params(chat_id=5, text="x"))


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


async def test_a_server_slower_than_read_timeout_times_out(server: Server) -> None:
    server.delay = 2.0
    url = f"{server.base_url}{TOKEN}/sendMessage"
    async with BotApiRequest(read_timeout=0.2) as request:
        with pytest.raises(TimedOut):
            await request.do_request(url, "POST", params(chat_id=5, text="x"))
    async with BotApiRequest(read_timeout=30.0) as request:  # the per-call timeout wins
        with pytest.raises(TimedOut):
            await request.do_request(url, "POST", params(chat_id=5, text="x"), read_timeout=0.2)


async def test_an_upload_slower_than_read_timeout_times_out(server: Server) -> None:
    server.delay = 2.0
    async with Bot(TOKEN, base_url=server.base_url, request=BotApiRequest()) as bot:
        with pytest.raises(TimedOut):
            await bot.send_photo(5, PNG, read_timeout=0.2)


async def test_get_updates_adds_the_poll_timeout_to_read_timeout(server: Server) -> None:
    """PTB reads ``read_timeout`` and adds the long-poll timeout, as with HTTPXRequest."""
    server.delay = 1.0
    request = BotApiRequest(read_timeout=0.3)
    assert request.read_timeout == 0.3
    async with Bot(TOKEN, base_url=server.base_url, get_updates_request=request) as bot:
        assert await bot.get_updates(timeout=3) == ()  # waits up to 3.3 s for the 1 s answer
        with pytest.raises(TimedOut):
            await bot.get_updates()  # 0.3 s for a 1 s answer


async def test_pool_timeout_when_every_connection_is_busy(server: Server) -> None:
    server.delay = 2.0
    url = f"{server.base_url}{TOKEN}/sendMessage"
    async with BotApiRequest(connection_pool_size=1, pool_timeout=0.2) as request:
        busy = asyncio.create_task(request.do_request(url, "POST", params(chat_id=5, text="1")))
        while not server.seen:
            await asyncio.sleep(0.01)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await request.do_request(url, "POST", params(chat_id=5, text="2"))
        assert len(server.seen) == 1  # the second request was not sent
        server.release.set()
        status, _ = await busy
        assert status == 200
        status, _ = await request.do_request(url, "POST", params(chat_id=5, text="3"))
        assert status == 200  # the slot came back


async def test_requests_queue_for_a_free_connection(server: Server) -> None:
    server.delay = 0.05
    url = f"{server.base_url}{TOKEN}/sendMessage"
    async with BotApiRequest(connection_pool_size=2, pool_timeout=None) as request:
        results = await asyncio.gather(
            *(request.do_request(url, "POST", params(chat_id=5, text=str(k))) for k in range(8))
        )
    assert [status for status, _ in results] == [200] * 8
    assert sorted(json.loads(s.body)["text"] for s in server.seen) == [str(k) for k in range(8)]


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_closed_port_is_a_network_error(request_: BotApiRequest) -> None:
    url = f"http://127.0.0.1:{closed_port()}/bot{TOKEN}/getMe"
    with pytest.raises(NetworkError, match=r"^ConnectionRefusedError: ") as info:
        await request_.do_request(url, "POST", params())  # the JSON path
    assert not isinstance(info.value, TimedOut)
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    with pytest.raises(NetworkError, match=r"^aiohttp\.ClientConnectorError: ") as info:
        await request_.do_request(url, "GET")  # through aiohttp
    assert isinstance(info.value.__cause__, aiohttp.ClientError)


async def test_a_dropped_connection_is_a_network_error(request_: BotApiRequest) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.close()

    listener = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        url = f"http://127.0.0.1:{port}/bot{TOKEN}/getMe"
        with pytest.raises(NetworkError, match=r"^The Bot API server closed the connection"):
            await request_.do_request(url, "POST")
        with pytest.raises(NetworkError, match=r"^aiohttp\.ServerDisconnectedError"):
            await request_.do_request(url, "GET")
    finally:
        listener.close()
        await listener.wait_closed()


async def test_lifecycle(server: Server) -> None:
    request = BotApiRequest()
    url = f"{server.base_url}{TOKEN}/getMe"
    await request.shutdown()  # never initialized: nothing to do
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(url, "POST")
    await request.initialize()
    session = request._session
    await request.initialize()  # idempotent: the same session
    assert request._session is session
    assert (await request.do_request(url, "POST"))[0] == 200
    await request.shutdown()
    await request.shutdown()  # twice is fine
    assert session is not None and session.closed
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(url, "POST")
    await request.initialize()  # a shut-down request can be started again, like HTTPXRequest
    assert (await request.do_request(url, "POST"))[0] == 200
    await request.shutdown()


def test_timeout_mapping() -> None:
    plain = _client_timeout(read=5.0, write=5.0, connect=3.0, files=False)
    assert (plain.total, plain.connect, plain.sock_read) == (None, 3.0, 5.0)
    upload = _client_timeout(read=5.0, write=20.0, connect=3.0, files=True)
    assert (upload.total, upload.connect, upload.sock_read) == (28.0, 3.0, 5.0)
    unbounded = _client_timeout(read=None, write=20.0, connect=3.0, files=True)
    assert (unbounded.total, unbounded.sock_read) == (None, None)
    with pytest.raises(ValueError, match="at least 1"):
        BotApiRequest(connection_pool_size=0)


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


# ---- the JSON path's kept-alive connections, against a raw server that does what servers may


@dataclass
class RawServer:
    """HTTP/1.1 by hand: each request's JSON body goes to ``respond``, whose bytes are written
    back (``None``: close the connection instead). Records which connection carried each."""

    respond: Any  # async (index, body dict) -> bytes | None
    port: int = 0
    requests: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    connections: int = 0
    hang_up_after: set[int] = field(default_factory=set)  # requests answered, then closed

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                body = json.loads(await reader.readexactly(length))
                index = len(self.requests)
                self.requests.append((number, body))
                answer = await self.respond(index, body)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if index in self.hang_up_after:
                    await asyncio.sleep(0.05)
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def url(self, method: str = "sendMessage") -> str:
        return f"http://127.0.0.1:{self.port}/bot{TOKEN}/{method}"


def reply(text: str, *, close: bool = False, chunked: bool = False) -> bytes:
    payload = json.dumps({"ok": True, "result": text}).encode()
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    if close:
        head += "Connection: close\r\n"
    if chunked:
        half = len(payload) // 2
        parts = [payload[:half], payload[half:]]
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + body
    return (head + f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload


@contextlib.asynccontextmanager
async def raw_server(respond: Any) -> AsyncIterator[RawServer]:
    state = RawServer(respond)
    listener = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = listener.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        listener.close()


async def echo(_index: int, body: dict[str, Any]) -> bytes:
    return reply(body["text"])


async def send(request: BotApiRequest, server: RawServer, text: str, **kw: Any) -> str:
    status, body = await request.do_request(server.url(), "POST", params(text=text), **kw)
    assert status == 200
    result: str = json.loads(body)["result"]
    return result


async def test_json_calls_reuse_one_kept_alive_connection(request_: BotApiRequest) -> None:
    async with raw_server(echo) as server:
        assert [await send(request_, server, str(k)) for k in range(5)] == list("01234")
        assert [number for number, _ in server.requests] == [0] * 5
        # Three at once need three connections; all three are kept for later calls.
        together = await asyncio.gather(*(send(request_, server, f"c{k}") for k in range(3)))
        assert together == ["c0", "c1", "c2"]
        assert server.connections == 3
        assert await send(request_, server, "again") == "again"
        assert server.connections == 3


async def test_a_chunked_answer_is_read_whole(request_: BotApiRequest) -> None:
    async def chunked(_index: int, body: dict[str, Any]) -> bytes:
        return reply(body["text"] * 50, chunked=True)

    async with raw_server(chunked) as server:
        assert await send(request_, server, "ab") == "ab" * 50
        assert await send(request_, server, "cd") == "cd" * 50  # and the connection reused
        assert server.connections == 1


async def test_connections_the_server_ends_are_not_reused(request_: BotApiRequest) -> None:
    async def closing(index: int, body: dict[str, Any]) -> bytes:
        return reply(body["text"], close=index == 0)  # the first says Connection: close

    async with raw_server(closing) as server:
        assert await send(request_, server, "one") == "one"
        assert await send(request_, server, "two") == "two"
        assert [number for number, _ in server.requests] == [0, 1]

    answered: list[int] = []

    async def then_hang_up(index: int, body: dict[str, Any]) -> bytes | None:
        if answered:  # the connection's second request: the server has closed it instead
            return None
        answered.append(index)
        return reply(body["text"])

    async with raw_server(then_hang_up) as server:
        assert await send(request_, server, "one") == "one"
        # The server closes that idle connection (as it may at any time) ...
        with pytest.raises(NetworkError, match="closed the connection"):
            await send(request_, server, "two")
        answered.clear()
        assert await send(request_, server, "three") == "three"  # ... a new one is opened


async def test_an_idle_connection_closed_by_the_server_is_left_out(
    request_: BotApiRequest,
) -> None:
    async with raw_server(echo) as server:
        assert await send(request_, server, "one") == "one"
        [[connection]] = request_._idle.values()
        assert connection.transport is not None
        connection.transport.abort()  # as when the server's FIN arrives while it is idle
        await asyncio.sleep(0.05)
        assert await send(request_, server, "two") == "two"
        assert server.connections == 2


async def test_idle_connections_expire(
    request_: BotApiRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.telegram.request.KEEPALIVE_SECONDS", 0.0)
    async with raw_server(echo) as server:
        assert [await send(request_, server, str(k)) for k in range(3)] == ["0", "1", "2"]
        assert server.connections == 3


async def test_a_late_answer_is_never_taken_for_the_next_calls(request_: BotApiRequest) -> None:
    """A call that timed out or was cancelled closes its connection: the answer it never got
    must not be read as the answer to the next call."""

    async def slow_first(index: int, body: dict[str, Any]) -> bytes:
        if index in (0, 1):
            await asyncio.sleep(0.4)
        return reply(body["text"])

    async with raw_server(slow_first) as server:
        with pytest.raises(TimedOut):
            await send(request_, server, "late", read_timeout=0.1)
        task = asyncio.create_task(send(request_, server, "cancelled"))
        while len(server.requests) < 2:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await send(request_, server, "mine") == "mine"
        assert await send(request_, server, "mine too") == "mine too"
        await asyncio.sleep(0.5)  # the late answers arrive, on connections closed already
        assert await send(request_, server, "still mine") == "still mine"
        assert [number for number, _ in server.requests] == [0, 1, 2, 2, 2]


async def test_a_garbled_answer_is_a_network_error(request_: BotApiRequest) -> None:
    async def garbage(index: int, body: dict[str, Any]) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n" if index == 0 else reply("ok")

    async with raw_server(garbage) as server:
        with pytest.raises(NetworkError, match="Invalid HTTP response"):
            await send(request_, server, "one")
        assert await send(request_, server, "two") == "ok"
        assert server.connections == 2


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
    listener = await asyncio.start_server(RawServer(echo).handle, "127.0.0.1", 0, ssl=server_side)
    url = f"https://127.0.0.1:{listener.sockets[0].getsockname()[1]}/bot{TOKEN}/sendMessage"
    try:
        trusted = ssl.create_default_context(cafile=str(cert))
        async with BotApiRequest(ssl_context=trusted) as request:
            for text in ("one", "two"):
                status, body = await request.do_request(url, "POST", params(text=text))
                assert (status, json.loads(body)["result"]) == (200, text)
        async with BotApiRequest() as request:  # the system's authorities do not know it
            with pytest.raises(NetworkError, match="CERTIFICATE_VERIFY_FAILED"):
                await request.do_request(url, "POST", params(text="x"))
    finally:
        listener.close()


async def test_get_updates_leaves_out_what_the_bot_never_reads_of_a_pressed_message(
    server: Server,
) -> None:
    entities = [{"offset": 0, "length": 4, "type": "bold"}]
    keyboard = {"inline_keyboard": [[{"text": "Show answer", "callback_data": "a:1:0"}]]}
    chat = {"id": 5, "type": "private", "first_name": "A"}
    user = {"id": 5, "is_bot": False, "first_name": "A"}
    question = {"message_id": 9, "date": 1, "chat": chat, "text": "Q1: what is attention?"}
    formula = {"message_id": 10, "date": 1, "chat": chat, "caption": "softmax(QKᵀ/√d)V"}
    command = {"message_id": 11, "date": 1, "chat": chat, "from": user, "text": "/study 5"}
    updates = [
        {"update_id": 1, "callback_query": {"id": "q1", "from": user, "chat_instance": "c",
         "data": "a:1:0", "message": {**question, "entities": entities, "reply_markup": keyboard}}},
        {"update_id": 2, "callback_query": {"id": "q2", "from": user, "chat_instance": "c",
         "data": "a:1:0", "message": {**formula, "caption_entities": entities,
                                      "reply_markup": keyboard}}},
        {"update_id": 3, "message": {**command, "entities": [
            {"offset": 0, "length": 6, "type": "bot_command"}], "reply_markup": keyboard}},
    ]  # fmt: skip
    usual = server.answer
    server.answer = lambda m: {"result": updates} if m == "getUpdates" else usual(m)  # type: ignore[method-assign]
    async with Bot(TOKEN, base_url=server.base_url, get_updates_request=UpdatesRequest()) as bot:
        pressed, photo, typed = await bot.get_updates()
    assert pressed.callback_query is not None and photo.callback_query is not None
    message = pressed.callback_query.message
    assert isinstance(message, Message)
    assert (message.message_id, message.chat.id, message.text) == (9, 5, question["text"])
    assert (message.entities, message.reply_markup) == ((), None)
    message = photo.callback_query.message
    assert isinstance(message, Message)
    assert (message.text, message.caption, message.caption_entities) == (
        None,
        "softmax(QKᵀ/√d)V",
        (),
    )
    assert typed.message is not None  # a typed command is parsed whole
    assert typed.message.entities[0].type == "bot_command"
    assert typed.message.reply_markup is not None


async def test_a_connection_closed_right_after_its_answer_is_not_reused(
    request_: BotApiRequest,
) -> None:
    """The server's FIN is in the socket before the event loop has seen it: the connection
    must not carry the next call (which would fail without having reached the server)."""
    async with raw_server(echo) as server:
        server.hang_up_after.add(0)
        assert await send(request_, server, "one") == "one"
        [[connection]] = request_._idle.values()
        assert connection.transport is not None
        connection.transport.pause_reading()  # the event loop will not see the FIN ...
        await asyncio.sleep(0.2)  # ... that the server sends meanwhile
        assert connection.open
        assert await send(request_, server, "two", read_timeout=2.0) == "two"
        assert [number for number, _ in server.requests] == [0, 1]


async def test_an_interim_answer_is_not_taken_for_the_answer(request_: BotApiRequest) -> None:
    async def early_hints(index: int, body: dict[str, Any]) -> bytes:
        return b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + reply(body["text"])

    async with raw_server(early_hints) as server:
        assert await send(request_, server, "one") == "one"
        assert await send(request_, server, "two") == "two"
        assert server.connections == 1


async def test_an_answer_nobody_asked_for_ends_the_connection(request_: BotApiRequest) -> None:
    async def then_timeout(index: int, body: dict[str, Any]) -> bytes:
        # ... and the start of another answer, whose rest never comes
        return reply(body["text"]) + b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 9\r\n\r\n"

    async with raw_server(then_timeout) as server:
        assert await send(request_, server, "one") == "one"
        await asyncio.sleep(0.05)
        assert await send(request_, server, "two") == "two"
        assert server.connections == 2


async def test_a_call_finishing_after_shutdown_leaves_no_connection_open() -> None:
    async def slow(index: int, body: dict[str, Any]) -> bytes:
        await asyncio.sleep(0.2)
        return reply(body["text"])

    request = BotApiRequest()
    await request.initialize()
    async with raw_server(slow) as server:
        call = asyncio.create_task(send(request, server, "late"))
        await asyncio.sleep(0.05)
        await request.shutdown()
        assert await call == "late"
        assert request._idle == {}

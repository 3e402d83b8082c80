"""The Bot API server: aiohttp on 127.0.0.1, the methods a bot calls, and the state they change.

Each implemented method is one ``_snake_case`` method of :class:`BotApiServer` taking the
request's parameters and returning the ``result`` (or raising :class:`ApiError`); ``_handle``
does the HTTP around it: the token, parameters, latency, injected faults, flood limits, the
record of calls, and answers that come late or are cut off. What a test does as the users lives
in ``driver.py``.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import re
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Final, NamedTuple, Self
from urllib.parse import urlsplit

from aiohttp import ClientSession, web

from tests.botapi.entities import (
    HtmlParseError,
    parse_html,
    trim_formatted,
    utf16_len,
    valid_entity,
)
from tests.botapi.errors import (
    CONFLICT_OTHER_POLL,
    CONFLICT_WEBHOOK,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiError,
    bad,
)
from tests.botapi.limits import SENDING_METHODS, Limits, RateLimits
from tests.botapi.params import JSON_FIELDS, check_markup, normalize, read_params, scope_key
from tests.botapi.state import (
    JSON,
    Call,
    CallbackQuery,
    ChatState,
    PollState,
    StoredMessage,
    Upload,
    User,
    member_json,
)
from tests.botapi.updates import UpdateQueue

DEFAULT_TOKEN: Final = "7000000001:AAStandInTokenForTestsOnly_0123456789"
MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_ANSWER_LENGTH: Final = 200
# Polls, as Bot API 9.1+ allows (telegram.constants.PollLimit has the same figures).
MAX_POLL_QUESTION_LENGTH: Final = 300
MAX_POLL_OPTION_LENGTH: Final = 100
MIN_POLL_OPTIONS: Final = 2
MAX_POLL_OPTIONS: Final = 12
MAX_POLL_EXPLANATION_LENGTH: Final = 200
MAX_POLL_EXPLANATION_LINE_FEEDS: Final = 2

CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


class _Described(NamedTuple):
    """A result with the optional ``description`` Telegram adds (setWebhook...)."""

    result: Any
    description: str


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, JPEG, GIF, WebP or BMP image; None when not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"BM") and len(data) >= 26:
        return int.from_bytes(data[18:22], "little"), abs(
            int.from_bytes(data[22:26], "little", signed=True)
        )
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 512, 512
    if data.startswith(b"\xff\xd8"):
        pos = 2
        while pos + 9 < len(data):
            if data[pos] != 0xFF:
                pos += 1
                continue
            marker = data[pos + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                pos += 1 if marker == 0xFF else 2
                continue
            length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height = int.from_bytes(data[pos + 5 : pos + 7], "big")
                width = int.from_bytes(data[pos + 7 : pos + 9], "big")
                return width, height
            pos += 2 + length
        return None
    return None


class BotApiServer:
    """A Bot API server on 127.0.0.1 (ephemeral port): the methods and the state they change.

    Tests use its subclass :class:`~tests.botapi.driver.BotApiStandIn`, which adds the users.

    Args:
        token: the bot token accepted in paths; any other answers 401.
        bot_username / bot_first_name: what ``getMe`` returns (``/cmd@<bot_username>``).
        record: keep every call in :attr:`calls`, message edit history and the transcript;
            with False only counters and timestamps are kept (for benchmarks).
        strict_html: also reject a bare ``&`` in HTML (Telegram keeps it literally).
        latency: seconds every request is held before it is answered (0: no sleep at all).
        rate_limits: enforce Telegram-like flood limits (429 with ``retry_after``).
        callback_query_ttl: seconds after which an unanswered callback query is "too old".
        clock: wall clock for message ``date`` fields (``time.time`` by default).
    """

    #: The implemented methods.
    METHODS: Final = (
        "getMe",
        "getUpdates",
        "setWebhook",
        "deleteWebhook",
        "getWebhookInfo",
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendPoll",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "deleteMessage",
        "answerCallbackQuery",
        "setMyCommands",
        "getMyCommands",
        "deleteMyCommands",
        "getChat",
        "getChatMember",
        "sendChatAction",
        "close",
        "logOut",
    )

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "studybot_test_bot",
        bot_first_name: str = "StudyBot",
        record: bool = True,
        strict_html: bool = True,
        latency: float = 0.0,
        rate_limits: RateLimits | None = None,
        callback_query_ttl: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        bot_id, sep, _ = token.partition(":")
        if not sep or not bot_id.isdigit():
            raise ValueError("token must look like '<bot id>:<secret>'")
        self._token = token
        self.bot = User(int(bot_id), bot_first_name, username=bot_username, is_bot=True)
        self.record = record
        self.strict_html = strict_html
        self.latency = latency
        self.callback_query_ttl = callback_query_ttl
        self._clock = clock

        # Recording.
        self.calls: list[Call] = []
        self.call_times: list[float] = []
        self.method_counts: Counter[str] = Counter()
        self.status_counts: Counter[int] = Counter()
        #: Exceptions raised inside the stand-in while answering (a test may assert it is empty).
        self.internal_errors: list[Exception] = []
        self._changed = asyncio.Event()
        #: Methods whose calls wait before they are answered (``hold``), and the calls waiting.
        self._holds: dict[str, asyncio.Event] = {}
        self.held: Counter[str] = Counter()

        # World state.
        self._users: dict[int, User] = {self.bot.id: self.bot}
        self._chats: dict[int, ChatState] = {}
        self._chats_by_username: dict[str, ChatState] = {}
        self._blocked: set[int] = set()
        self.member_status: dict[tuple[int, int], str] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self.files: dict[str, Upload | None] = {}
        self._documents: dict[str, JSON] = {}
        self._photo_sizes: dict[str, list[JSON]] = {}
        self._file_seq = itertools.count(1)
        self._poll_seq = itertools.count(1)
        #: Every poll the bot sent, by poll id.
        self.polls: dict[str, PollState] = {}
        self._query_seq = itertools.count(1)

        # Updates, the webhook, faults and limits.
        self.update_queue = UpdateQueue()
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self._webhook_max_connections = 40
        self._client: ClientSession | None = None  # delivers webhook updates (driver.py)
        self.limits = Limits(rate_limits)

        handlers: dict[str, Callable[[JSON], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendPoll": self._send_poll,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "sendChatAction": self._send_chat_action,
            "close": self._close,
            "logOut": self._log_out,
        }
        self._handlers: dict[str, tuple[str, Callable[[JSON], Any], bool]] = {
            name.lower(): (name, fn, inspect.iscoroutinefunction(fn))
            for name, fn in handlers.items()
        }

        self._runner: web.ServerRunner | None = None
        self._port: int | None = None
        self._stopping = False

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 on an ephemeral port; after ``stop``, on the same port again (a
        server that was down, and refused connections meanwhile, is back)."""
        if self._runner is not None:
            return
        self._stopping = False
        server = web.Server(self._handle, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=2.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self._port or 0))
            self._port = sock.getsockname()[1]
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        """Answer a pending long poll, close the webhook client and the server."""
        self._stopping = True
        self.update_queue.wake("stopped")
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the stand-in is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """For ``TELEGRAM_BASE_URL`` / ``ApplicationBuilder.base_url``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder.base_file_url``; every file download answers 404."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def token(self) -> str:
        return self._token

    def env(self) -> dict[str, str]:
        """Environment variables that point ``studybot bot`` at the stand-in."""
        return {"TELEGRAM_BOT_TOKEN": self._token, "TELEGRAM_BASE_URL": self.base_url}

    def hold(self, method: str) -> None:
        """Make calls of ``method`` wait, unanswered, until ``release`` (``held`` counts them):
        a server that has a request but has not answered it yet."""
        self._holds.setdefault(method.lower(), asyncio.Event())

    def release(self, method: str) -> None:
        """Answer the calls of ``method`` that ``hold`` kept waiting, and wait no more."""
        gate = self._holds.pop(method.lower(), None)
        if gate is not None:
            gate.set()

    # ---------------------------------------------------------------- HTTP plumbing

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if path.startswith("/bot"):
            token, _, method = path[4:].partition("/")
            if token != self._token:
                return _json_response(401, ApiError(401, "Unauthorized").payload())
        elif path.startswith("/file/bot"):
            token = path[9:].partition("/")[0]
            status = 401 if token != self._token else 404
            description = "Unauthorized" if status == 401 else "Not Found"
            return _json_response(status, ApiError(status, description).payload())
        else:
            return _json_response(404, ApiError(404, "Not Found").payload())

        arrival = time.monotonic()
        entry = self._handlers.get(method.lower())
        name = entry[0] if entry else method
        params: JSON = {}
        try:
            params = await read_params(request)
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            gate = self._holds.get(name.lower())
            if gate is not None:
                self.held[name] += 1
                self._changed.set()
                await gate.wait()
            if entry is None:
                raise ApiError(404, "Not Found")
            if self.limits.faults:
                self.limits.inject_fault(name)
            normalize(params)
            if self.limits.rate_limits is not None and name in SENDING_METHODS:
                self.limits.check_rate(params)
            _, handler, is_async = entry
            result = await handler(params) if is_async else handler(params)
            if isinstance(result, _Described):
                body: JSON = {"ok": True, "result": result.result}
                body["description"] = result.description
            else:
                body = {"ok": True, "result": result}
            status = 200
        except ApiError as error:
            status, body = error.code, error.payload()
        except Exception as error:  # a bug in the stand-in: answer like a broken server
            self.internal_errors.append(error)
            status = 500
            body = ApiError(500, f"Internal Server Error: stand-in bug: {error!r}").payload()

        self.call_times.append(arrival)
        self.method_counts[name] += 1
        self.status_counts[status] += 1
        if self.record:
            self.calls.append(Call(name, params, status, body, arrival, time.monotonic() - arrival))
        self._changed.set()
        fault = self.limits.answer_fault(name) if self.limits.answer_faults else None
        if fault is not None:
            if fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault.cut:
                return await _cut_response(request, status, body)
        return _json_response(status, body)

    # ---------------------------------------------------------------- helpers for methods

    def _target(self, params: JSON, *, check_blocked: bool = True) -> ChatState:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad("chat_id is empty")
        state: ChatState | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            if check_blocked and raw in self._blocked:
                raise self._forbidden(raw)
            state = self._chats.get(raw)
        elif isinstance(raw, str) and raw.startswith("@"):
            state = self._chats_by_username.get(raw[1:].lower())
            if state is not None and check_blocked and state.chat.id in self._blocked:
                raise self._forbidden(state.chat.id)
        if state is None:
            raise bad("chat not found")
        return state

    def _forbidden(self, chat_id: int) -> ApiError:
        state = self._chats.get(chat_id)
        if chat_id > 0:
            return ApiError(403, "Forbidden: bot was blocked by the user")
        if state is not None and state.chat.type == "supergroup":
            return ApiError(403, "Forbidden: bot was kicked from the supergroup chat")
        return ApiError(403, "Forbidden: bot was kicked from the group chat")

    def _format(
        self, params: JSON, text_key: str, entities_key: str
    ) -> tuple[str, list[JSON], str, str | None]:
        """(plain text, entities, raw text, parse_mode) of a text or caption parameter."""
        raw = params.get(text_key)
        raw_text = "" if raw is None else raw if isinstance(raw, str) else str(raw)
        parse_mode = params.get("parse_mode") or None
        mode = parse_mode.lower() if isinstance(parse_mode, str) else ""
        if mode in ("", "none"):
            entities = params.get(entities_key) or []
            if not isinstance(entities, list) or not all(valid_entity(e) for e in entities):
                raise bad(f"can't parse {JSON_FIELDS[entities_key]} JSON object")
            plain = raw_text
        elif mode == "html":
            try:
                plain, entities = parse_html(raw_text, strict=self.strict_html)
            except HtmlParseError as error:
                raise bad(f"can't parse entities: {error}") from None
        elif mode in ("markdown", "markdownv2"):
            plain, entities = raw_text, []
        else:
            raise bad("unsupported parse_mode")
        plain, entities = trim_formatted(plain, entities)
        return plain, entities, raw_text, parse_mode

    def _new_message(
        self, state: ChatState, sender: User, *, outgoing: bool, **fields: Any
    ) -> StoredMessage:
        message = StoredMessage(
            state.next_message_id,
            state.chat,
            sender,
            int(self._clock()),
            outgoing,
            **fields,
        )
        state.next_message_id += 1
        state.messages[message.message_id] = message
        if outgoing:
            state.bot_messages.append(message)
            if self.record:
                state.events.append(("bot", message))
        return message

    def _reply_target(self, state: ChatState, params: JSON) -> StoredMessage | None:
        reply = params.get("reply_parameters")
        allow = bool(params.get("allow_sending_without_reply"))
        message_id = params.get("reply_to_message_id")
        if isinstance(reply, dict):
            message_id = reply.get("message_id", message_id)
            allow = allow or bool(reply.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        target = state.messages.get(int(message_id))
        if target is None or target.deleted:
            if allow:
                return None
            raise bad("message to be replied not found")
        return target

    def _edited_message(self, params: JSON) -> StoredMessage:
        if params.get("inline_message_id"):
            raise bad("MESSAGE_ID_INVALID")
        state = self._target(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise bad("message identifier is not specified")
        message = state.messages.get(message_id)
        if message is None or message.deleted:
            raise bad("message to edit not found")
        if not message.outgoing:
            raise bad("message can't be edited")
        return message

    def _apply_edit(self, message: StoredMessage, **changes: Any) -> JSON:
        if self.record:
            message.history.append(message.snapshot())
        for key, value in changes.items():
            setattr(message, key, value)
        message.edit_date = int(self._clock())
        message.edit_count += 1
        return message.to_api()

    def _new_file_ids(self, kind: str) -> tuple[str, str]:
        seq = next(self._file_seq)
        prefix = {"photo": "AgACAgIAAxkDAAI", "document": "BQACAgIAAxkDAAI"}[kind]
        return f"{prefix}{seq:010d}StandIn", f"AQAD{seq:08d}"

    def _photo_from(self, params: JSON) -> list[JSON]:
        photo = params.get("photo")
        if isinstance(photo, str) and photo.startswith("attach://"):
            photo = params.get(photo[9:])
        if photo is None or photo == "":
            raise bad("there is no photo in the request")
        if isinstance(photo, Upload):
            if not photo.data:
                raise bad("file must be non-empty")
            size = _image_size(photo.data)
            if size is None:
                raise bad("IMAGE_PROCESS_FAILED")
            return self._store_photo(size, len(photo.data), photo)
        if not isinstance(photo, str):
            raise bad("wrong file identifier/HTTP URL specified")
        known = self._photo_sizes.get(photo)
        if known is not None:
            return known
        if photo.startswith(("http://", "https://")):
            return self._store_photo((800, 600), 50_000, None)
        raise bad("wrong file identifier/HTTP URL specified")

    def _store_photo(self, size: tuple[int, int], nbytes: int, upload: Upload | None) -> list[JSON]:
        width, height = size
        if width <= 0 or height <= 0 or width + height > 10_000 or max(size) > 20 * min(size):
            raise bad("PHOTO_INVALID_DIMENSIONS")
        biggest = max(width, height)
        sizes: list[JSON] = []
        for box in (90, 320, 800, 1280, 2560):
            scale = min(1.0, box / biggest)
            w, h = max(1, round(width * scale)), max(1, round(height * scale))
            if sizes and (sizes[-1]["width"], sizes[-1]["height"]) == (w, h):
                break
            file_id, unique_id = self._new_file_ids("photo")
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique_id,
                    "file_size": max(1, int(nbytes * (w * h) / (width * height))),
                    "width": w,
                    "height": h,
                }
            )
            if box >= biggest:
                break
        for entry in sizes:
            self._photo_sizes[entry["file_id"]] = sizes
            self.files[entry["file_id"]] = upload if self.record else None
        return sizes

    # ---------------------------------------------------------------- methods

    def _get_me(self, params: JSON) -> JSON:
        data = self.bot.to_api()
        data.update(
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return data

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = params.get("offset")
        limit = params.get("limit") or 100
        limit = min(max(int(limit), 1), 100)
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                raise bad("can't parse allowed_updates JSON object")
            self.update_queue.allow(allowed)
        self.update_queue.wake("conflict")  # a newer getUpdates ends the pending one
        self.update_queue.confirm(offset)
        batch = self.update_queue.take(limit)
        if batch or timeout <= 0 or self._stopping:
            return batch
        outcome = await self.update_queue.wait(timeout)
        if outcome == "conflict":
            raise ApiError(409, CONFLICT_OTHER_POLL)
        if outcome == "webhook":
            raise ApiError(409, CONFLICT_WEBHOOK)
        return self.update_queue.take(limit)

    def _set_webhook(self, params: JSON) -> _Described:
        url = params.get("url") or ""
        if not url:
            return self._delete_webhook(params)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        self.webhook_url = url
        secret = params.get("secret_token")
        self.webhook_secret = str(secret) if secret else None
        self._webhook_max_connections = int(params.get("max_connections") or 40)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.update_queue.allow([str(a) for a in allowed])
        if params.get("drop_pending_updates"):
            self.update_queue.drop()
        self.update_queue.wake("webhook")
        return _Described(True, "Webhook was set")

    def _delete_webhook(self, params: JSON) -> _Described:
        was_set = bool(self.webhook_url)
        self.webhook_url = None
        self.webhook_secret = None
        if params.get("drop_pending_updates"):
            self.update_queue.drop()
        return _Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": self.update_queue.pending,
        }
        if self.webhook_url:
            info["max_connections"] = self._webhook_max_connections
            info["ip_address"] = "127.0.0.1"
            if self.update_queue.allowed_param is not None:
                info["allowed_updates"] = self.update_queue.allowed_param
        return info

    def _send_message(self, params: JSON) -> JSON:
        markup = check_markup(params.get("reply_markup"))
        text, entities, raw, parse_mode = self._format(params, "text", "entities")
        state = self._target(params)
        if not text:
            raise bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise bad("message is too long")
        reply_to = self._reply_target(state, params)
        message = self._new_message(
            state,
            self.bot,
            outgoing=True,
            text=text,
            entities=entities,
            raw_text=raw,
            parse_mode=parse_mode,
            reply_markup=markup,
            reply_to=reply_to,
        )
        return message.to_api()

    def _caption(self, params: JSON) -> tuple[str | None, list[JSON], str | None, str | None]:
        if params.get("caption") in (None, ""):
            return None, [], None, None
        caption, entities, raw, parse_mode = self._format(params, "caption", "caption_entities")
        if utf16_len(caption) > MAX_CAPTION_LENGTH:
            raise bad("message caption is too long")
        return caption or None, entities, raw, parse_mode

    def _send_photo(self, params: JSON) -> JSON:
        markup = check_markup(params.get("reply_markup"))
        caption, entities, raw, parse_mode = self._caption(params)
        state = self._target(params)
        photo = self._photo_from(params)
        message = self._new_message(
            state,
            self.bot,
            outgoing=True,
            photo=photo,
            caption=caption,
            caption_entities=entities,
            raw_caption=raw,
            parse_mode=parse_mode,
            reply_markup=markup,
            reply_to=self._reply_target(state, params),
        )
        return message.to_api()

    def _send_document(self, params: JSON) -> JSON:
        markup = check_markup(params.get("reply_markup"))
        caption, entities, raw, parse_mode = self._caption(params)
        state = self._target(params)
        document = params.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            document = params.get(document[9:])
        if document is None or document == "":
            raise bad("there is no document in the request")
        if isinstance(document, Upload):
            if not document.data:
                raise bad("file must be non-empty")
            file_id, unique_id = self._new_file_ids("document")
            info: JSON = {
                "file_id": file_id,
                "file_unique_id": unique_id,
                "file_name": document.filename or "document",
                "mime_type": document.content_type or "application/octet-stream",
                "file_size": document.size,
            }
            self.files[file_id] = document if self.record else None
            self._documents[file_id] = info
        elif isinstance(document, str) and document in self._documents:
            info = self._documents[document]
        elif isinstance(document, str) and document.startswith(("http://", "https://")):
            file_id, unique_id = self._new_file_ids("document")
            name = urlsplit(document).path.rsplit("/", 1)[-1] or "document"
            info = {"file_id": file_id, "file_unique_id": unique_id, "file_name": name}
            self._documents[file_id] = info
        else:
            raise bad("wrong file identifier/HTTP URL specified")
        message = self._new_message(
            state,
            self.bot,
            outgoing=True,
            document=info,
            caption=caption,
            caption_entities=entities,
            raw_caption=raw,
            parse_mode=parse_mode,
            reply_markup=markup,
            reply_to=self._reply_target(state, params),
        )
        return message.to_api()

    def _format_as(
        self, params: JSON, text_key: str, entities_key: str, mode_key: str
    ) -> tuple[str, list[JSON]]:
        """Plain text and entities of a field with its own parse mode (a poll's question...)."""
        plain, entities, _, _ = self._format(
            {
                text_key: params.get(text_key),
                entities_key: params.get(entities_key),
                "parse_mode": params.get(mode_key),
            },
            text_key,
            entities_key,
        )
        return plain, entities

    def _send_poll(self, params: JSON) -> JSON:
        markup = check_markup(params.get("reply_markup"))
        state = self._target(params)
        question, question_entities = self._format_as(
            params, "question", "question_entities", "question_parse_mode"
        )
        if not question:
            raise bad("poll question must be non-empty")
        if utf16_len(question) > MAX_POLL_QUESTION_LENGTH:
            raise bad(f"poll question length must not exceed {MAX_POLL_QUESTION_LENGTH}")
        raw_options = params.get("options")
        if not isinstance(raw_options, list):
            raise bad("can't parse options JSON object")
        if len(raw_options) < MIN_POLL_OPTIONS:
            raise bad(f"poll must have at least {MIN_POLL_OPTIONS} option")
        if len(raw_options) > MAX_POLL_OPTIONS:
            raise bad(f"poll can't have more than {MAX_POLL_OPTIONS} options")
        options: list[str] = []
        for raw in raw_options:
            option = {"text": raw} if isinstance(raw, str) else raw
            if not isinstance(option, dict) or not isinstance(option.get("text"), str):
                raise bad('can\'t parse InputPollOption: Field "text" must be of type String')
            text, _ = self._format_as(option, "text", "text_entities", "text_parse_mode")
            if not text:
                raise bad("poll options must be non-empty")
            if utf16_len(text) > MAX_POLL_OPTION_LENGTH:
                raise bad(f"poll options length must not exceed {MAX_POLL_OPTION_LENGTH}")
            options.append(text)
        poll_type = params.get("type") or "regular"
        if poll_type not in ("regular", "quiz"):
            raise bad("wrong poll type specified")
        correct = params.get("correct_option_ids")
        if correct is None and params.get("correct_option_id") not in (None, ""):
            correct = [params["correct_option_id"]]
        explanation: str | None = None
        explanation_entities: list[JSON] = []
        if poll_type == "quiz":
            if not isinstance(correct, list) or not correct:
                raise bad("correct option ids must be specified for quiz polls")
            try:
                correct = [int(c) for c in correct]
            except (TypeError, ValueError):
                raise bad("can't parse correct option ids") from None
            if sorted(set(correct)) != correct or not all(0 <= c < len(options) for c in correct):
                raise bad("wrong correct option ids specified")
            if params.get("explanation") not in (None, ""):
                explanation, explanation_entities = self._format_as(
                    params, "explanation", "explanation_entities", "explanation_parse_mode"
                )
                if utf16_len(explanation) > MAX_POLL_EXPLANATION_LENGTH:
                    raise bad(f"explanation length must not exceed {MAX_POLL_EXPLANATION_LENGTH}")
                if explanation.count("\n") > MAX_POLL_EXPLANATION_LINE_FEEDS:
                    raise bad(
                        f"explanation must have at most {MAX_POLL_EXPLANATION_LINE_FEEDS} "
                        "line feeds"
                    )
        elif correct:
            raise bad("correct option ids can be specified only for quiz polls")
        anonymous = params.get("is_anonymous")
        multiple = bool(params.get("allows_multiple_answers"))
        if poll_type == "quiz" and multiple:
            raise bad("quiz polls can't allow multiple answers")
        revoting = params.get("allows_revoting")
        poll = PollState(
            id=str(5_000_000_000_000_000_000 + next(self._poll_seq)),
            chat_id=state.chat.id,
            message_id=state.next_message_id,
            question=question,
            options=options,
            type=poll_type,
            is_anonymous=True if anonymous is None else bool(anonymous),
            allows_multiple_answers=multiple,
            allows_revoting=poll_type == "regular" if revoting is None else bool(revoting),
            correct_option_ids=list(correct) if poll_type == "quiz" and correct else [],
            explanation=explanation or None,
            explanation_entities=explanation_entities,
            question_entities=question_entities,
            is_closed=bool(params.get("is_closed")),
        )
        message = self._new_message(
            state,
            self.bot,
            outgoing=True,
            poll=poll,
            reply_markup=markup,
            reply_to=self._reply_target(state, params),
        )
        self.polls[poll.id] = poll
        return message.to_api()

    def _edit_message_text(self, params: JSON) -> JSON:
        markup = check_markup(params.get("reply_markup"))
        text, entities, raw, parse_mode = self._format(params, "text", "entities")
        message = self._edited_message(params)
        if message.text is None:
            raise bad("there is no text in the message to edit")
        if not text:
            raise bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise bad("message is too long")
        if text == message.text and entities == message.entities and markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        return self._apply_edit(
            message,
            text=text,
            entities=entities,
            raw_text=raw,
            parse_mode=parse_mode,
            reply_markup=markup,
        )

    def _edit_message_caption(self, params: JSON) -> JSON:
        markup = check_markup(params.get("reply_markup"))
        caption, entities, raw, parse_mode = self._caption(params)
        message = self._edited_message(params)
        if message.kind == "text":
            raise bad("there is no caption in the message to edit")
        if (
            caption == message.caption
            and entities == message.caption_entities
            and markup == message.reply_markup
        ):
            raise ApiError(400, NOT_MODIFIED)
        return self._apply_edit(
            message,
            caption=caption,
            caption_entities=entities,
            raw_caption=raw,
            parse_mode=parse_mode,
            reply_markup=markup,
        )

    def _edit_message_reply_markup(self, params: JSON) -> JSON:
        markup = check_markup(params.get("reply_markup"))
        message = self._edited_message(params)
        if markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        return self._apply_edit(message, reply_markup=markup)

    def _delete_message(self, params: JSON) -> bool:
        state = self._target(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise bad("message identifier is not specified")
        message = state.messages.get(message_id)
        if message is None or message.deleted:
            raise bad("message to delete not found")
        if not message.outgoing and not state.chat.is_private:
            status = self.member_status.get((state.chat.id, self.bot.id), "member")
            if status not in ("administrator", "creator"):
                raise bad("message can't be deleted")
        message.deleted = True
        return True

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params.get("callback_query_id")
        query = self.callback_queries.get(str(query_id)) if query_id is not None else None
        if query is None or query.answered:
            raise ApiError(400, QUERY_TOO_OLD)
        ttl = self.callback_query_ttl
        if ttl is not None and time.monotonic() - query.created > ttl:
            raise ApiError(400, QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        if text and utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad("MESSAGE_TOO_LONG")
        query.answered = True
        query.text = text or None
        query.show_alert = bool(params.get("show_alert"))
        query.url = params.get("url") or None
        cache_time = params.get("cache_time")
        query.cache_time = int(cache_time) if cache_time is not None else None
        state = self._chats.get(query.chat_id)
        if self.record and state is not None and query.text:
            state.events.append(("answer", query))
        return True

    def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if commands is None:
            raise bad('parameter "commands" is required')
        if not isinstance(commands, list):
            raise bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad("too many commands specified")
        stored: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad("can't parse BotCommand: BotCommand must be an Object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
            stored.append({"command": name, "description": description})
        key = (scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands[key] = stored
        return True

    def _get_my_commands(self, params: JSON) -> list[JSON]:
        key = (scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return list(self._commands.get(key, []))

    def _delete_my_commands(self, params: JSON) -> bool:
        key = (scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands.pop(key, None)
        return True

    def _get_chat(self, params: JSON) -> JSON:
        state = self._target(params, check_blocked=False)
        data = state.chat.to_api()
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return data

    def _get_chat_member(self, params: JSON) -> JSON:
        state = self._target(params, check_blocked=False)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise bad("user_id is empty")
        user = self._users.get(user_id)
        if user is None:
            raise bad("user not found")
        status = self.member_status.get((state.chat.id, user_id), "member")
        return member_json(status, user.to_api())

    def _send_chat_action(self, params: JSON) -> bool:
        state = self._target(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        state.last_action = str(action)
        return True

    def _close(self, params: JSON) -> bool:
        return True

    def _log_out(self, params: JSON) -> bool:
        return True


async def _cut_response(request: web.BaseRequest, status: int, body: JSON) -> web.StreamResponse:
    """The headers and half the body of the answer, then the connection closed: the answer of
    a call that was carried out, lost on its way back."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
    response.content_length = len(data)
    await response.prepare(request)
    await response.write(data[: len(data) // 2])
    assert request.transport is not None
    request.transport.close()  # sends what was written, then closes
    return response


def _json_response(status: int, body: JSON) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status=status,
        content_type="application/json",
    )

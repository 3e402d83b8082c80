"""A local stand-in for the Telegram Bot API, for end-to-end tests and benchmarks.

The real bot (a python-telegram-bot ``Application``, or the ``studybot bot`` process) is
pointed at it with ``TELEGRAM_BASE_URL=<stand-in>.base_url``; requests then arrive at
``/bot<TOKEN>/<method>`` exactly as they would at ``api.telegram.org``. The stand-in answers
with the real Bot API JSON shapes and error descriptions, keeps the state a user would see
(messages, their edits, inline keyboards, callback answers), and lets a test play the users::

    async with BotApiStandIn() as api:
        alice = api.user(1001, "Alice", username="alice")
        chat = api.private_chat(alice)
        app = (Application.builder().token(api.token).base_url(api.base_url)
               .base_file_url(api.base_file_url).build())
        ...  # start polling
        api.send_text(chat, alice, "/study 3")
        [question] = await api.wait_for_message(chat.id, count=1)
        api.press(chat, alice, question.message_id, question.callback_data("Show answer"))
        await api.wait_for(lambda: api.messages(chat.id)[0].edit_count > 0)
        print(api.transcript(chat.id))

Semantics follow Telegram (tdlib and telegram-bot-api) where it matters for a bot:

* requests may be form-encoded, multipart (uploads) or JSON; method names are case-insensitive;
* ``parse_mode=HTML`` is parsed like tdlib's ``parse_html`` (same tags, attributes and error
  texts), text length is counted in UTF-16 code units after parsing, and leading/trailing
  whitespace is trimmed; with ``strict_html=True`` (the default) a bare ``&`` that does not
  start ``&lt; &gt; &amp; &quot; &#NNN; &#xHHH;`` is rejected as well, which Telegram itself
  tolerates, so that unescaped text is caught in tests; ``Markdown``/``MarkdownV2`` text is
  stored unparsed;
* ``editMessageText``/``editMessageCaption`` without ``reply_markup`` remove the inline keyboard,
  like Telegram; editing to identical content answers "message is not modified";
* ``getUpdates`` confirms with ``offset``, long-polls for ``timeout`` seconds, honours ``limit``
  and ``allowed_updates`` (applied when updates are created, as Telegram does), answers 409
  while a webhook is set, and a newer ``getUpdates`` ends a pending one with 409.

Everything runs on the event loop of the test that owns the stand-in; the driving methods
(``send_text``, ``press``, ...) are plain functions that enqueue updates and wake a pending
long poll. Only the subset of methods listed in ``BotApiStandIn.METHODS`` is implemented; any
other method answers 404 "Not Found".
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import math
import re
import socket
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, Self
from urllib.parse import urlsplit, urlunsplit

from aiohttp import BodyPartReader, ClientSession, ClientTimeout, hdrs, web

JSON = dict[str, Any]

DEFAULT_TOKEN: Final = "7000000001:AAStandInTokenForTestsOnly_0123456789"
MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_CALLBACK_ANSWER_LENGTH: Final = 200

NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
CONFLICT_OTHER_POLL: Final = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
CONFLICT_WEBHOOK: Final = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)

#: Methods that send or change a message: the ones ``fail_next`` and ``RateLimits`` apply to.
SENDING_METHODS: Final = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)
#: Update types delivered when ``allowed_updates`` is empty or was never given.
DEFAULT_ALLOWED_UPDATES: Final = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
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
MEMBER_STATUSES: Final = frozenset(
    {"creator", "administrator", "member", "restricted", "left", "kicked"}
)
_BUTTON_ACTIONS: Final = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_INT_FIELDS: Final = frozenset(
    {
        "message_id",
        "user_id",
        "offset",
        "limit",
        "cache_time",
        "reply_to_message_id",
        "message_thread_id",
        "max_connections",
    }
)
_FLOAT_FIELDS: Final = frozenset({"timeout"})
_BOOL_FIELDS: Final = frozenset(
    {
        "show_alert",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "has_spoiler",
        "allow_sending_without_reply",
        "show_caption_above_media",
        "disable_content_type_detection",
    }
)
_JSON_FIELDS: Final = {
    "reply_markup": "reply keyboard markup",
    "entities": "entities",
    "caption_entities": "caption entities",
    "allowed_updates": "allowed_updates",
    "commands": "commands",
    "scope": "scope",
    "link_preview_options": "link preview options",
    "reply_parameters": "reply parameters",
}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status = ``code``, JSON ``description``."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        """The JSON body Telegram answers with."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class HtmlParseError(ValueError):
    """``parse_mode=HTML`` text that Telegram would reject; the message is tdlib's."""


# --------------------------------------------------------------------------------------------
# Text: UTF-16 length, tdlib-compatible HTML parsing, trimming
# --------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts in."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


_HTML_SPECIAL = re.compile(r"[<&]")
_HTML_TAGS: Final = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_SPACE: Final = frozenset(" \t\r\n\v\0")  # tdlib's is_space(), '\0' ends the text
_NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_DIGITS: Final = frozenset("0123456789")
_ALPHA: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_TOKEN: Final = frozenset(_ALPHA | _DIGITS | {".", "-"})
_SIMPLE_TAG_TYPES: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
# tdlib's MessageEntity::get_type_priority, the tie-breaker of sort_entities().
_ENTITY_PRIORITY: Final = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_TG_USER_LINK = re.compile(r"^tg://user\?id=(\d+)$", re.I)
_TRIM_CHARS: Final = " \t\r\n"


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_html_entity(s: str, pos: int, strict: bool) -> tuple[str, int] | None:
    """tdlib's decode_html_entity on ``s`` (NUL-terminated) at ``s[pos] == '&'``.

    Returns the decoded character and the position after the entity, or None when the text
    there is not an entity (tdlib then keeps the '&' as a literal character). In strict mode
    the terminating ';' is required.
    """
    end = pos + 1
    code = 0
    if s[end] == "#":
        end += 1
        if s[end] == "x":
            end += 1
            start = end
            while s[end] in _HEX:
                end += 1
            code = int(s[start:end], 16) if end > start else 0
        else:
            start = end
            while s[end] in _DIGITS:
                end += 1
            code = int(s[start:end]) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
    else:
        start = end
        while s[end] in _ALPHA:
            end += 1
        named = _NAMED_ENTITIES.get(s[start:end])
        if named is None:
            return None
        code = ord(named)
    if s[end] == ";":
        end += 1
    elif strict:
        return None
    return chr(code), end


def _checked_link(url: str) -> str:
    """An approximation of tdlib's LinkManager::get_checked_link: '' when not a usable link."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return ""
    if "://" not in url and not url.lower().startswith(("tg:", "mailto:")):
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https", "ftp"):
        if not parts.netloc or ("." not in parts.netloc and parts.netloc != "localhost"):
            return ""
        if not parts.path:
            url = urlunsplit(parts._replace(path="/"))
    return url


@dataclass(slots=True)
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the parsed text
    chunk: int  # index into the output chunks where the tag's content starts
    expandable: bool = False


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML into plain text and Bot API ``MessageEntity`` dicts.

    A port of tdlib's ``parse_html``: the same tags and attributes, the same error messages
    (raised as :class:`HtmlParseError`), offsets and lengths in UTF-16 code units, entities
    sorted like tdlib. ``strict`` additionally rejects a bare ``&``, unknown named entities
    and entities without ``;`` (Telegram keeps those as literal text).
    """
    if "<" not in text and "&" not in text:
        return text, []
    s = text + "\0"
    n = len(text)
    out: list[str] = []
    utf16 = 0
    raw_entities: list[list[Any]] = []  # [type, offset, length, extra dict]
    stack: list[_OpenTag] = []
    i = 0
    while i < n:
        match = _HTML_SPECIAL.search(text, i)
        j = match.start() if match else n
        if j > i:
            chunk = text[i:j]
            out.append(chunk)
            utf16 += utf16_len(chunk)
            i = j
            if i >= n:
                break
        if text[i] == "&":
            decoded = _decode_html_entity(s, i, strict)
            if decoded is not None:
                char, i = decoded
                if 0xD800 <= ord(char) <= 0xDFFF:
                    raise HtmlParseError(
                        "Text contains invalid Unicode characters after decoding HTML entities, "
                        "check for unmatched surrogate code units"
                    )
                out.append(char)
                utf16 += 2 if ord(char) > 0xFFFF else 1
                continue
            if strict:
                raise HtmlParseError(
                    f'Character "&" at byte offset {_byte_offset(text, i)} must be escaped as '
                    '"&amp;" (the only named entities are &lt; &gt; &amp; &quot;)'
                )
            out.append("&")
            utf16 += 1
            i += 1
            continue

        begin = i
        i += 1
        if s[i] != "/":
            # A start tag.
            while s[i] not in _HTML_SPACE and s[i] != ">":
                i += 1
            if i >= n:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            tag = s[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise HtmlParseError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            argument = ""
            expandable = False
            while s[i] != ">":
                while i < n and s[i] in _HTML_SPACE:
                    i += 1
                if s[i] == ">":
                    break
                attr_begin = i
                while s[i] not in _HTML_SPACE and s[i] != "=" and s[i] != ">":
                    i += 1
                attr_name = s[attr_begin:i]
                if not attr_name:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{_byte_offset(text, begin)}"
                    )
                while i < n and s[i] in _HTML_SPACE:
                    i += 1
                if s[i] != "=":
                    if tag == "blockquote" and attr_name == "expandable":
                        expandable = True
                        if i >= n:
                            raise HtmlParseError(
                                f'Unclosed start tag "{tag}" at byte offset '
                                f"{_byte_offset(text, begin)}"
                            )
                        continue
                    raise HtmlParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                i += 1
                while i < n and s[i] in _HTML_SPACE:
                    i += 1
                if i >= n:
                    raise HtmlParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                if s[i] != "'" and s[i] != '"':
                    token_begin = i
                    while s[i] in _NAME_TOKEN:
                        i += 1
                    value = s[token_begin:i].lower()
                    if s[i] not in _HTML_SPACE and s[i] != ">":
                        raise HtmlParseError(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(text, token_begin)}"
                        )
                else:
                    quote = s[i]
                    i += 1
                    value_chars: list[str] = []
                    while i < n and s[i] != quote:
                        if s[i] == "&":
                            decoded = _decode_html_entity(s, i, strict)
                            if decoded is not None:
                                value_chars.append(decoded[0])
                                i = decoded[1]
                                continue
                            if strict:
                                raise HtmlParseError(
                                    f'Character "&" at byte offset {_byte_offset(text, i)} must '
                                    'be escaped as "&amp;"'
                                )
                        value_chars.append(s[i])
                        i += 1
                    if s[i] == quote and i < n:
                        i += 1
                    value = "".join(value_chars)
                if i >= n:
                    raise HtmlParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                    )
                if tag == "a" and attr_name == "href":
                    argument = value
                elif tag == "code" and attr_name == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and attr_name == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attr_name == "expandable":
                    expandable = True
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(
                    'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            stack.append(_OpenTag(tag, argument, utf16, len(out), expandable))
            i += 1  # past '>'
            continue

        # An end tag.
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        while s[i] not in _HTML_SPACE and s[i] != ">":
            i += 1
        end_name = s[begin + 2 : i].lower()
        while i < n and s[i] in _HTML_SPACE:
            i += 1
        if s[i] != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        opened = stack[-1]
        if end_name and end_name != opened.name:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{opened.name}>", found "</{end_name}>"'
            )
        if utf16 > opened.offset:
            _close_entity(opened, utf16 - opened.offset, out, raw_entities)
        stack.pop()
        i += 1  # past '>'

    if stack:
        raise HtmlParseError(f"Can't find end tag corresponding to start tag {stack[-1].name}")
    entities: list[JSON] = []
    for kind, offset, length, extra in raw_entities:
        if kind == "code":
            extra.pop("language", None)
        entity: JSON = {"type": kind, "offset": offset, "length": length}
        entity.update(extra)
        entities.append(entity)
    entities.sort(key=lambda e: (e["offset"], -e["length"], _ENTITY_PRIORITY.get(e["type"], 50)))
    return "".join(out), entities


def _close_entity(opened: _OpenTag, length: int, out: list[str], entities: list[list[Any]]) -> None:
    """Turn a closed tag into an entity, merging <pre><code class=...> like tdlib."""
    tag, offset, argument = opened.name, opened.offset, opened.argument
    simple = _SIMPLE_TAG_TYPES.get(tag)
    if simple is not None:
        entities.append([simple, offset, length, {}])
    elif tag == "tg-emoji":
        if not argument.isdigit() or int(argument) == 0 or int(argument) >= 2**63:
            raise HtmlParseError("Invalid custom emoji identifier specified")
        entities.append(["custom_emoji", offset, length, {"custom_emoji_id": argument}])
    elif tag == "a":
        url = argument or "".join(out[opened.chunk :])
        user_link = _TG_USER_LINK.match(url.strip())
        if user_link:
            user = {"id": int(user_link.group(1)), "is_bot": False, "first_name": "User"}
            entities.append(["text_mention", offset, length, {"user": user}])
        else:
            url = _checked_link(url)
            if url:
                entities.append(["text_link", offset, length, {"url": url}])
    elif tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last[0] == "code"
            and last[1] == offset
            and last[2] == length
            and last[3].get("language")
        ):
            last[0] = "pre"
        else:
            entities.append(["pre", offset, length, {}])
    elif tag == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last[0] == "pre"
            and last[1] == offset
            and last[2] == length
            and argument
        ):
            last[3]["language"] = argument
        else:
            entities.append(["code", offset, length, {"language": argument} if argument else {}])
    elif tag == "blockquote":
        kind = "expandable_blockquote" if opened.expandable else "blockquote"
        entities.append([kind, offset, length, {}])


def trim_formatted(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip leading/trailing whitespace as Telegram does, shifting and clipping entities."""
    stripped = text.strip(_TRIM_CHARS)
    if len(stripped) == len(text):
        return text, entities
    left = len(text) - len(text.lstrip(_TRIM_CHARS))
    total = utf16_len(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(int(entity.get("offset", 0)) - left, 0)
        end = min(int(entity.get("offset", 0)) + int(entity.get("length", 0)) - left, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def strip_html(text: str) -> str:
    """Plain text of Telegram HTML (lenient: never raises); handy for assertions."""
    try:
        return parse_html(text, strict=False)[0]
    except HtmlParseError:
        return re.sub(r"<[^>]*>", "", text)


# --------------------------------------------------------------------------------------------
# Simulated users, chats, messages and calls
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    """A Telegram user (or the bot itself, with ``is_bot=True``)."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_api(self) -> JSON:
        """The Bot API ``User`` object."""
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat the stand-in knows: ``private`` (id = the user's id) or a group (id < 0)."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    @property
    def is_private(self) -> bool:
        return self.type == "private"

    def to_api(self) -> JSON:
        """The Bot API ``Chat`` object."""
        data: JSON = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data


@dataclass(frozen=True, slots=True)
class Upload:
    """A file uploaded in a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class MessageVersion:
    """An earlier state of a message, kept in :attr:`StoredMessage.history` on each edit."""

    text: str | None
    entities: list[JSON]
    raw_text: str | None
    parse_mode: str | None
    caption: str | None
    reply_markup: JSON | None
    edit_date: int | None


@dataclass(slots=True, eq=False)
class StoredMessage:
    """The current state of one message, as the users in the chat see it.

    ``text``/``caption`` are the plain text after entity parsing (what Telegram stores and
    returns); ``raw_text``/``raw_caption`` are what the bot sent, with ``parse_mode``.
    """

    message_id: int
    chat: Chat
    sender: User
    date: int
    outgoing: bool  # sent by the bot
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    raw_text: str | None = None
    parse_mode: str | None = None
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    raw_caption: str | None = None
    photo: list[JSON] | None = None
    document: JSON | None = None
    reply_markup: JSON | None = None
    reply_to: StoredMessage | None = None
    edit_date: int | None = None
    history: list[MessageVersion] = field(default_factory=list)
    edit_count: int = 0
    deleted: bool = False

    @property
    def kind(self) -> str:
        """``text``, ``photo`` or ``document``."""
        if self.photo is not None:
            return "photo"
        if self.document is not None:
            return "document"
        return "text"

    @property
    def keyboard(self) -> list[list[JSON]]:
        """The inline keyboard rows (button dicts); empty when there is none."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard")
        return rows if isinstance(rows, list) else []

    @property
    def button_texts(self) -> list[list[str]]:
        """The inline keyboard as rows of button labels."""
        return [[str(button.get("text", "")) for button in row] for row in self.keyboard]

    def button(self, label: str) -> JSON:
        """The inline button whose text is ``label`` (KeyError when absent)."""
        for row in self.keyboard:
            for button in row:
                if button.get("text") == label:
                    return button
        raise KeyError(f"no button {label!r} in message {self.message_id}: {self.button_texts}")

    def callback_data(self, label: str) -> str:
        """The callback_data of the inline button labelled ``label``."""
        return str(self.button(label)["callback_data"])

    def label_for(self, data: str) -> str | None:
        """The label of the inline button carrying callback ``data``, if any."""
        for row in self.keyboard:
            for button in row:
                if button.get("callback_data") == data:
                    return str(button.get("text", ""))
        return None

    def snapshot(self) -> MessageVersion:
        return MessageVersion(
            text=self.text,
            entities=self.entities,
            raw_text=self.raw_text,
            parse_mode=self.parse_mode,
            caption=self.caption,
            reply_markup=self.reply_markup,
            edit_date=self.edit_date,
        )

    def to_api(self, *, with_reply: bool = True) -> JSON:
        """The Bot API ``Message`` object for the current state."""
        data: JSON = {
            "message_id": self.message_id,
            "from": self.sender.to_api(),
            "chat": self.chat.to_api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.photo is not None:
            data["photo"] = self.photo
        if self.document is not None:
            data["document"] = self.document
        if self.caption:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        return data


@dataclass(slots=True)
class Call:
    """One request the bot made: canonical method name, parameters, answer, timing."""

    method: str
    params: JSON
    status: int
    response: JSON
    ts: float  # time.monotonic() on arrival
    duration: float

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        return self.response.get("description")

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")


@dataclass(slots=True)
class CallbackQuery:
    """A button press the stand-in sent, and the bot's answer to it once answered."""

    id: str
    update_id: int
    user: User
    chat_id: int
    message_id: int
    data: str
    label: str | None
    created: float  # time.monotonic()
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int | None = None


class Press(NamedTuple):
    """What :meth:`BotApiStandIn.press` enqueued."""

    update_id: int
    query_id: str


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Telegram-like flood limits, enforced with sliding windows over SENDING_METHODS.

    ``None`` disables a limit. Telegram tolerates short bursts in private chats, so the
    per-private-chat limit is off unless asked for.
    """

    global_per_second: int | None = 30
    group_per_minute: int | None = 20
    private_per_second: int | None = None


class _Window:
    """A sliding-window counter: at most ``limit`` events per ``span`` seconds."""

    __slots__ = ("limit", "span", "times")

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        times = self.times
        horizon = now - self.span
        while times and times[0] <= horizon:
            times.popleft()
        if len(times) < self.limit:
            return 0.0
        return times[0] + self.span - now


@dataclass(slots=True)
class _Fault:
    remaining: int
    error_code: int
    description: str
    parameters: JSON | None
    methods: frozenset[str] | None


@dataclass(slots=True)
class _ChatState:
    chat: Chat
    chat_instance: str
    next_message_id: int = 1
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    bot_messages: list[StoredMessage] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    last_action: str | None = None


class _Described(NamedTuple):
    """A result with the optional ``description`` Telegram adds (setWebhook...)."""

    result: Any
    description: str


def _as_chat_id(chat: Chat | int) -> int:
    return chat.id if isinstance(chat, Chat) else int(chat)


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


_RESTRICTED_FLAGS: Final = (
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_send_messages",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_manage_topics",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_edit_tag",
)


def _member_json(status: str, user: JSON) -> JSON:
    """A ``ChatMember`` object with every field python-telegram-bot requires."""
    if status == "creator":
        return {"status": status, "user": user, "is_anonymous": False}
    if status == "administrator":
        return {
            "status": status,
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": True,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
            "can_pin_messages": True,
        }
    if status == "restricted":
        data: JSON = {"status": status, "user": user, "is_member": True, "until_date": 0}
        data.update(dict.fromkeys(_RESTRICTED_FLAGS, False))
        return data
    if status == "kicked":
        return {"status": status, "user": user, "until_date": 0}
    return {"status": status, "user": user}


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class BotApiStandIn:
    """A Bot API server on 127.0.0.1 (ephemeral port) with simulated users and fault injection.

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
        self.rate_limited_count = 0
        self.injected_failure_count = 0
        #: Exceptions raised inside the stand-in while answering (a test may assert it is empty).
        self.internal_errors: list[Exception] = []
        self._changed = asyncio.Event()

        # World state.
        self._users: dict[int, User] = {self.bot.id: self.bot}
        self._chats: dict[int, _ChatState] = {}
        self._chats_by_username: dict[str, _ChatState] = {}
        self._blocked: set[int] = set()
        self.member_status: dict[tuple[int, int], str] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self.files: dict[str, Upload | None] = {}
        self._documents: dict[str, JSON] = {}
        self._photo_sizes: dict[str, list[JSON]] = {}
        self._file_seq = itertools.count(1)
        self._query_seq = itertools.count(1)

        # Updates.
        self._update_ids = itertools.count(100_000_001)
        self._update_log: dict[int, JSON] = {}
        self._queue: deque[tuple[int, JSON]] = deque()
        self._replays: list[list[Any]] = []  # [update_id, update, max id of delivery batch]
        self._allowed: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._allowed_param: list[str] | None = None
        self._poller: asyncio.Future[str] | None = None

        # Webhook.
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self._webhook_max_connections = 40
        self._client: ClientSession | None = None

        # Faults and limits.
        self._faults: deque[_Fault] = deque()
        self._rate_limits: RateLimits | None = None
        self._global_window: _Window | None = None
        self._chat_windows: dict[int, _Window] = {}
        self.set_rate_limits(rate_limits)

        handlers: dict[str, Callable[[JSON], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
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
        """Listen on 127.0.0.1 on an ephemeral port."""
        if self._runner is not None:
            return
        self._stopping = False
        server = web.Server(self._handle, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=2.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
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
        self._wake_poller("stopped")
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

    # ---------------------------------------------------------------- simulated world

    def user(
        self,
        id: int,
        first_name: str,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = "en",
    ) -> User:
        """Create (or replace) a simulated user."""
        if id <= 0:
            raise ValueError("user ids are positive")
        user = User(id, first_name, username, last_name, language_code)
        self._users[id] = user
        return user

    def private_chat(self, user: User) -> Chat:
        """The private chat of ``user`` with the bot (the user has pressed Start)."""
        self._users.setdefault(user.id, user)
        chat = Chat(
            user.id,
            "private",
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
        )
        self._register_chat(chat)
        return chat

    def group(
        self,
        chat_id: int,
        title: str,
        type: str = "group",
        *,
        username: str | None = None,
    ) -> Chat:
        """A group or supergroup the bot is a member of."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if type not in ("group", "supergroup"):
            raise ValueError("type must be 'group' or 'supergroup'")
        chat = Chat(chat_id, type, title=title, username=username)
        self._register_chat(chat)
        return chat

    def _register_chat(self, chat: Chat) -> _ChatState:
        state = self._chats.get(chat.id)
        if state is None:
            state = _ChatState(chat, chat_instance=str((chat.id * 2654435761) % 10**19))
            self._chats[chat.id] = state
        else:
            state.chat = chat
        if chat.username:
            self._chats_by_username[chat.username.lower()] = state
        return state

    def _state(self, chat: Chat | int) -> _ChatState:
        if isinstance(chat, Chat):
            return self._register_chat(chat)
        state = self._chats.get(int(chat))
        if state is None:
            raise KeyError(f"unknown chat {chat}; create it with private_chat() or group()")
        return state

    def set_member_status(self, chat: Chat | int, user: User | int, status: str) -> None:
        """What ``getChatMember`` answers for ``user`` in ``chat`` (default ``member``)."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {sorted(MEMBER_STATUSES)}")
        user_id = user.id if isinstance(user, User) else int(user)
        self.member_status[(_as_chat_id(chat), user_id)] = status

    def block(self, chat: Chat | int, *, notify: bool = False) -> None:
        """Every send/edit/delete/chat action to ``chat`` answers 403 from now on.

        With ``notify`` a ``my_chat_member`` update (bot kicked) is enqueued as well.
        """
        chat_id = _as_chat_id(chat)
        self._blocked.add(chat_id)
        if notify:
            self._enqueue_member_change(chat_id, "member", "kicked")

    def unblock(self, chat: Chat | int, *, notify: bool = False) -> None:
        """Undo :meth:`block`."""
        chat_id = _as_chat_id(chat)
        self._blocked.discard(chat_id)
        if notify:
            self._enqueue_member_change(chat_id, "kicked", "member")

    def _enqueue_member_change(self, chat_id: int, old: str, new: str) -> None:
        state = self._state(chat_id)
        actor = self._users.get(chat_id) if chat_id > 0 else None
        actor_json = actor.to_api() if actor else {"id": 1, "is_bot": False, "first_name": "Admin"}
        bot = self.bot.to_api()
        self._enqueue(
            "my_chat_member",
            {
                "chat": state.chat.to_api(),
                "from": actor_json,
                "date": int(self._clock()),
                "old_chat_member": _member_json(old, bot),
                "new_chat_member": _member_json(new, bot),
            },
        )

    # ---------------------------------------------------------------- driving: users act

    def send_text(
        self, chat: Chat | int, user: User, text: str, *, reply_to: int | None = None
    ) -> int:
        """``user`` sends ``text`` in ``chat``; returns the update_id of the enqueued update.

        A text starting with a command (``/cmd`` or ``/cmd@botname``) gets a ``bot_command``
        entity at offset 0, like Telegram adds.
        """
        state = self._state(chat)
        self._users.setdefault(user.id, user)
        if state.chat.is_private and state.chat.id != user.id:
            raise ValueError(f"user {user.id} cannot write in the private chat {state.chat.id}")
        entities: list[JSON] = []
        command = _command_length(text)
        if command:
            entities.append({"type": "bot_command", "offset": 0, "length": command})
        message = self._new_message(
            state, user, outgoing=False, text=text, entities=entities, raw_text=text
        )
        if reply_to is not None:
            message.reply_to = state.messages.get(reply_to)
        if self.record:
            state.events.append(("user", message))
        return self._enqueue("message", message.to_api())

    def edit_user_message(self, chat: Chat | int, user: User, message_id: int, text: str) -> int:
        """``user`` edits one of their messages; enqueues an ``edited_message`` update."""
        state = self._state(chat)
        message = state.messages.get(message_id)
        if message is None or message.outgoing or message.sender.id != user.id:
            raise ValueError(f"message {message_id} is not a message of user {user.id}")
        if self.record:
            message.history.append(message.snapshot())
        command = _command_length(text)
        message.text = message.raw_text = text
        message.entities = (
            [{"type": "bot_command", "offset": 0, "length": command}] if command else []
        )
        message.edit_date = int(self._clock())
        message.edit_count += 1
        return self._enqueue("edited_message", message.to_api())

    def press(
        self,
        chat: Chat | int,
        user: User,
        message_id: int | None,
        data: str,
        *,
        strict: bool = True,
    ) -> Press:
        """``user`` presses the inline button with callback ``data`` under a bot message.

        ``message_id=None`` means the newest bot message with an inline keyboard. With
        ``strict`` the button must be on the message now (a user cannot press anything else).
        """
        state = self._state(chat)
        self._users.setdefault(user.id, user)
        message = self._pressable(state, message_id)
        label = message.label_for(data)
        if label is None and strict:
            raise ValueError(
                f"message {message.message_id} has no button with callback_data {data!r}; "
                f"its buttons: {message.button_texts}"
            )
        query_id = str(4_000_000_000_000_000_000 + next(self._query_seq))
        update_id = self._enqueue(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_api(),
                "message": message.to_api(),
                "chat_instance": state.chat_instance,
                "data": data,
            },
        )
        self.callback_queries[query_id] = CallbackQuery(
            query_id,
            update_id,
            user,
            state.chat.id,
            message.message_id,
            data,
            label,
            time.monotonic(),
        )
        if self.record:
            state.events.append(("press", user, label if label is not None else f"data={data}"))
        return Press(update_id, query_id)

    def press_button(
        self, chat: Chat | int, user: User, label: str, message_id: int | None = None
    ) -> Press:
        """Like :meth:`press`, choosing the button by its text."""
        state = self._state(chat)
        message = self._pressable(state, message_id)
        return self.press(chat, user, message.message_id, message.callback_data(label))

    def _pressable(self, state: _ChatState, message_id: int | None) -> StoredMessage:
        if message_id is None:
            for candidate in reversed(state.bot_messages):
                if not candidate.deleted and candidate.keyboard:
                    return candidate
            raise ValueError(f"no bot message with an inline keyboard in chat {state.chat.id}")
        message = state.messages.get(message_id)
        if message is None or not message.outgoing or message.deleted:
            raise ValueError(f"no bot message {message_id} in chat {state.chat.id}")
        return message

    def replay(self, update_id: int) -> int:
        """Deliver an exact duplicate (same update_id and ids inside) of an earlier update.

        The duplicate is delivered even though its id was already confirmed, and is
        confirmed by the next ``getUpdates`` whose offset passes the batch it came in.
        """
        update = self._update_log.get(update_id)
        if update is None:
            raise KeyError(f"no update {update_id}")
        self._replays.append([update_id, update, None])
        self._wake_poller("update")
        return update_id

    def update(self, update_id: int) -> JSON:
        """An update the stand-in created, as it was sent."""
        return self._update_log[update_id]

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot."""
        return len(self._queue) + len(self._replays)

    def _enqueue(self, kind: str, payload: JSON) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, kind: payload}
        self._update_log[update_id] = update
        if kind in self._allowed:
            self._queue.append((update_id, update))
            self._wake_poller("update")
        return update_id

    def _wake_poller(self, reason: str) -> None:
        poller = self._poller
        if poller is not None and not poller.done():
            poller.set_result(reason)

    # ---------------------------------------------------------------- faults and limits

    def fail_next(
        self,
        n: int = 1,
        error_code: int = 429,
        retry_after: int = 1,
        *,
        description: str | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Make the next ``n`` sending calls (or calls of ``methods``) fail.

        429 answers "Too Many Requests: retry after N" with ``parameters.retry_after``;
        other codes answer their usual description (500 Internal Server Error, 502 Bad
        Gateway, ...) unless ``description`` is given. ``methods=["*"]`` matches every call.
        """
        if n <= 0:
            return
        parameters: JSON | None = None
        if error_code == 429:
            description = description or f"Too Many Requests: retry after {retry_after}"
            parameters = {"retry_after": retry_after}
        elif description is None:
            description = {
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden",
                404: "Not Found",
                409: "Conflict",
                500: "Internal Server Error",
                502: "Bad Gateway",
                503: "Service Unavailable",
                504: "Gateway Timeout",
            }.get(error_code, "Internal Server Error")
        names: frozenset[str] | None = None
        if methods is not None:
            names = frozenset(m.lower() for m in methods)
            if "*" in names:
                names = frozenset(self._handlers)
        self._faults.append(_Fault(n, error_code, description, parameters, names))

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        """Turn flood limits on (or off with None); counters start afresh."""
        self._rate_limits = limits
        self._chat_windows = {}
        self._global_window = (
            _Window(limits.global_per_second, 1.0)
            if limits is not None and limits.global_per_second
            else None
        )

    def _inject_fault(self, method: str) -> None:
        for fault in self._faults:
            if fault.methods is None:
                applies = method in SENDING_METHODS
            else:
                applies = method.lower() in fault.methods
            if applies:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                self.injected_failure_count += 1
                raise ApiError(fault.error_code, fault.description, fault.parameters)

    def _check_rate(self, params: JSON) -> None:
        limits = self._rate_limits
        assert limits is not None
        now = time.monotonic()
        chat_id = params.get("chat_id")
        window: _Window | None = None
        if isinstance(chat_id, int):
            window = self._chat_windows.get(chat_id)
            if window is None:
                if chat_id < 0 and limits.group_per_minute:
                    window = _Window(limits.group_per_minute, 60.0)
                elif chat_id > 0 and limits.private_per_second:
                    window = _Window(limits.private_per_second, 1.0)
                if window is not None:
                    self._chat_windows[chat_id] = window
        wait = 0.0
        if self._global_window is not None:
            wait = self._global_window.wait(now)
        if window is not None:
            wait = max(wait, window.wait(now))
        if wait > 0:
            self.rate_limited_count += 1
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        if self._global_window is not None:
            self._global_window.times.append(now)
        if window is not None:
            window.times.append(now)

    # ---------------------------------------------------------------- inspection

    def messages(self, chat_id: Chat | int) -> list[StoredMessage]:
        """The bot's messages in a chat, oldest first, in their current state (deleted too)."""
        state = self._chats.get(_as_chat_id(chat_id))
        return list(state.bot_messages) if state else []

    def all_messages(self, chat_id: Chat | int) -> list[StoredMessage]:
        """Every message in a chat (the users' and the bot's), by message_id."""
        state = self._chats.get(_as_chat_id(chat_id))
        return [state.messages[k] for k in sorted(state.messages)] if state else []

    def message(self, chat_id: Chat | int, message_id: int) -> StoredMessage:
        """One message of a chat."""
        return self._chats[_as_chat_id(chat_id)].messages[message_id]

    def last_message(self, chat_id: Chat | int) -> StoredMessage | None:
        """The newest bot message in the chat that is not deleted."""
        for message in reversed(self.messages(chat_id)):
            if not message.deleted:
                return message
        return None

    def last_chat_action(self, chat_id: Chat | int) -> str | None:
        state = self._chats.get(_as_chat_id(chat_id))
        return state.last_action if state else None

    @property
    def answers(self) -> dict[str, CallbackQuery]:
        """Answered callback queries by query id (``text``, ``show_alert``, ``url``)."""
        return {qid: q for qid, q in self.callback_queries.items() if q.answered}

    @property
    def commands(self) -> list[JSON]:
        """The command list set for the default scope and no language."""
        return list(self._commands.get((_scope_key(None), ""), []))

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command list set for a scope and language."""
        return list(self._commands.get((_scope_key(scope), language_code), []))

    def calls_of(self, method: str) -> list[Call]:
        """Recorded calls of one method (case-insensitive)."""
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted]

    def stats(self) -> JSON:
        """Counters, kept in both recording modes."""
        return {
            "calls": len(self.call_times),
            "methods": dict(self.method_counts),
            "statuses": dict(self.status_counts),
            "rate_limited": self.rate_limited_count,
            "injected_failures": self.injected_failure_count,
            "pending_updates": self.pending_updates,
            "internal_errors": len(self.internal_errors),
        }

    def transcript(self, chat_id: Chat | int, *, names: bool | None = None) -> str:
        """The conversation as a user sees it, one line per item, in order.

        User messages are ``> text``; presses ``[pressed: <button text>]``; bot messages show
        their current text (tags stripped, entities decoded) followed by one line per inline
        keyboard row (``[ A ] [ B ]``); photos ``[photo] caption``; documents
        ``[document: name] caption``; callback answers ``(alert: ...)`` or ``(toast: ...)``.
        Deleted messages are left out. ``names`` (default: in groups) prefixes the user.
        Needs ``record=True``.
        """
        state = self._chats.get(_as_chat_id(chat_id))
        if state is None:
            return ""
        show_names = (not state.chat.is_private) if names is None else names
        lines: list[str] = []
        for event in state.events:
            kind = event[0]
            if kind == "user":
                message: StoredMessage = event[1]
                if message.deleted:
                    continue
                who = f"{message.sender.first_name}: " if show_names else ""
                body = message.text if message.text is not None else f"[{message.kind}]"
                lines.extend(f"> {who}{line}" for line in body.split("\n"))
            elif kind == "press":
                who = f"{event[1].first_name} " if show_names else ""
                lines.append(f"[{who}pressed: {event[2]}]")
            elif kind == "bot":
                message = event[1]
                if not message.deleted:
                    lines.extend(_render_message(message))
            elif kind == "answer":
                query: CallbackQuery = event[1]
                label = "alert" if query.show_alert else "toast"
                lines.append(f"({label}: {query.text})")
        return "\n".join(lines)

    # ---------------------------------------------------------------- waiting

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10.0,
        *,
        interval: float = 0.05,
        what: str | None = None,
    ) -> Any:
        """Wait until ``predicate()`` (sync or async) is truthy and return its value.

        Re-checked after every request the stand-in answers and every ``interval`` seconds.
        Raises TimeoutError naming ``what`` and the last calls.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(
                    f"{c.method}->{c.status}" + (f" {c.description!r}" if not c.ok else "")
                    for c in self.calls[-8:]
                )
                raise TimeoutError(
                    f"{what or 'condition'} not met within {timeout}s; last calls: "
                    f"[{recent or 'none'}]"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(interval, remaining))

    async def wait_for_message(
        self, chat_id: Chat | int, count: int = 1, timeout: float = 10.0
    ) -> list[StoredMessage]:
        """Wait until the bot has sent at least ``count`` messages to the chat; return them."""
        cid = _as_chat_id(chat_id)
        await self.wait_for(
            lambda: len(self.messages(cid)) >= count,
            timeout,
            what=f"{count} bot message(s) in chat {cid} (have {len(self.messages(cid))})",
        )
        return self.messages(cid)

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait until ``method`` was called ``count`` times (counts work without recording)."""
        entry = self._handlers.get(method.lower())
        canonical = entry[0] if entry else method
        await self.wait_for(
            lambda: self.method_counts[canonical] >= count,
            timeout,
            what=f"{count} call(s) of {canonical}",
        )
        return self.calls_of(canonical)

    # ---------------------------------------------------------------- webhook delivery

    async def deliver_webhook(self, update: int | JSON) -> int:
        """POST an update (an update_id or a dict) to the registered webhook; return status.

        Sends ``X-Telegram-Bot-Api-Secret-Token`` when a secret token was set.
        """
        if not self.webhook_url:
            raise RuntimeError("no webhook is set")
        payload = self._update_log[update] if isinstance(update, int) else update
        if self._client is None:
            self._client = ClientSession(timeout=ClientTimeout(total=30))
        headers: dict[str, str] = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        async with self._client.post(
            self.webhook_url, data=json.dumps(payload), headers=headers
        ) as response:
            await response.read()
            return response.status

    async def deliver_pending_webhooks(self) -> int:
        """Deliver queued updates in order until one is refused; return how many succeeded."""
        delivered = 0
        while self._queue:
            update_id, _ = self._queue[0]
            status = await self.deliver_webhook(update_id)
            if not 200 <= status < 300:
                break
            if self._queue and self._queue[0][0] == update_id:
                self._queue.popleft()
            delivered += 1
        return delivered

    # ---------------------------------------------------------------- HTTP plumbing

    async def _handle(self, request: web.BaseRequest) -> web.Response:
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
            params = await _read_params(request)
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            if entry is None:
                raise ApiError(404, "Not Found")
            if self._faults:
                self._inject_fault(name)
            _normalize(params)
            if self._rate_limits is not None and name in SENDING_METHODS:
                self._check_rate(params)
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
        return _json_response(status, body)

    # ---------------------------------------------------------------- helpers for methods

    def _target(self, params: JSON, *, check_blocked: bool = True) -> _ChatState:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        state: _ChatState | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            if check_blocked and raw in self._blocked:
                raise self._forbidden(raw)
            state = self._chats.get(raw)
        elif isinstance(raw, str) and raw.startswith("@"):
            state = self._chats_by_username.get(raw[1:].lower())
            if state is not None and check_blocked and state.chat.id in self._blocked:
                raise self._forbidden(state.chat.id)
        if state is None:
            raise _bad("chat not found")
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
            if not isinstance(entities, list) or not all(_valid_entity(e) for e in entities):
                raise _bad(f"can't parse {_JSON_FIELDS[entities_key]} JSON object")
            plain = raw_text
        elif mode == "html":
            try:
                plain, entities = parse_html(raw_text, strict=self.strict_html)
            except HtmlParseError as error:
                raise _bad(f"can't parse entities: {error}") from None
        elif mode in ("markdown", "markdownv2"):
            plain, entities = raw_text, []
        else:
            raise _bad("unsupported parse_mode")
        plain, entities = trim_formatted(plain, entities)
        return plain, entities, raw_text, parse_mode

    def _new_message(
        self, state: _ChatState, sender: User, *, outgoing: bool, **fields: Any
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

    def _reply_target(self, state: _ChatState, params: JSON) -> StoredMessage | None:
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
            raise _bad("message to be replied not found")
        return target

    def _edited_message(self, params: JSON) -> StoredMessage:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        state = self._target(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = state.messages.get(message_id)
        if message is None or message.deleted:
            raise _bad("message to edit not found")
        if not message.outgoing:
            raise _bad("message can't be edited")
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
            raise _bad("there is no photo in the request")
        if isinstance(photo, Upload):
            if not photo.data:
                raise _bad("file must be non-empty")
            size = _image_size(photo.data)
            if size is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            return self._store_photo(size, len(photo.data), photo)
        if not isinstance(photo, str):
            raise _bad("wrong file identifier/HTTP URL specified")
        known = self._photo_sizes.get(photo)
        if known is not None:
            return known
        if photo.startswith(("http://", "https://")):
            return self._store_photo((800, 600), 50_000, None)
        raise _bad("wrong file identifier/HTTP URL specified")

    def _store_photo(self, size: tuple[int, int], nbytes: int, upload: Upload | None) -> list[JSON]:
        width, height = size
        if width <= 0 or height <= 0 or width + height > 10_000 or max(size) > 20 * min(size):
            raise _bad("PHOTO_INVALID_DIMENSIONS")
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
                raise _bad("can't parse allowed_updates JSON object")
            self._allowed_param = list(allowed)
            self._allowed = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        self._wake_poller("conflict")  # a newer getUpdates ends the pending one
        self._confirm(offset)
        batch = self._take(limit)
        if batch or timeout <= 0 or self._stopping:
            return batch
        poller: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._poller = poller
        try:
            outcome = await asyncio.wait_for(poller, timeout)
        except TimeoutError:
            outcome = "timeout"
        finally:
            if self._poller is poller:
                self._poller = None
        if outcome == "conflict":
            raise ApiError(409, CONFLICT_OTHER_POLL)
        if outcome == "webhook":
            raise ApiError(409, CONFLICT_WEBHOOK)
        return self._take(limit)

    def _confirm(self, offset: Any) -> None:
        if offset is None:
            return
        offset = int(offset)
        queue = self._queue
        if offset < 0:
            while len(queue) > -offset:
                queue.popleft()
            return
        while queue and queue[0][0] < offset:
            queue.popleft()
        if self._replays:
            self._replays = [r for r in self._replays if r[2] is None or offset <= r[2]]

    def _take(self, limit: int) -> list[JSON]:
        batch = list(itertools.islice(self._queue, limit))
        if self._replays:
            batch.extend((r[0], r[1]) for r in self._replays)
            batch.sort(key=lambda item: item[0])
            batch = batch[:limit]
            if batch:
                last = batch[-1][0]
                included = {id(item[1]) for item in batch}
                for replay in self._replays:
                    if id(replay[1]) in included:
                        replay[2] = last
        return [update for _, update in batch]

    def _set_webhook(self, params: JSON) -> _Described:
        url = params.get("url") or ""
        if not url:
            return self._delete_webhook(params)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        self.webhook_url = url
        secret = params.get("secret_token")
        self.webhook_secret = str(secret) if secret else None
        self._webhook_max_connections = int(params.get("max_connections") or 40)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_param = [str(a) for a in allowed]
            self._allowed = frozenset(self._allowed_param) or DEFAULT_ALLOWED_UPDATES
        if params.get("drop_pending_updates"):
            self._queue.clear()
            self._replays.clear()
        self._wake_poller("webhook")
        return _Described(True, "Webhook was set")

    def _delete_webhook(self, params: JSON) -> _Described:
        was_set = bool(self.webhook_url)
        self.webhook_url = None
        self.webhook_secret = None
        if params.get("drop_pending_updates"):
            self._queue.clear()
            self._replays.clear()
        return _Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": self.pending_updates,
        }
        if self.webhook_url:
            info["max_connections"] = self._webhook_max_connections
            info["ip_address"] = "127.0.0.1"
            if self._allowed_param is not None:
                info["allowed_updates"] = self._allowed_param
        return info

    def _send_message(self, params: JSON) -> JSON:
        markup = _check_markup(params.get("reply_markup"))
        text, entities, raw, parse_mode = self._format(params, "text", "entities")
        state = self._target(params)
        if not text:
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
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
            raise _bad("message caption is too long")
        return caption or None, entities, raw, parse_mode

    def _send_photo(self, params: JSON) -> JSON:
        markup = _check_markup(params.get("reply_markup"))
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
        markup = _check_markup(params.get("reply_markup"))
        caption, entities, raw, parse_mode = self._caption(params)
        state = self._target(params)
        document = params.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            document = params.get(document[9:])
        if document is None or document == "":
            raise _bad("there is no document in the request")
        if isinstance(document, Upload):
            if not document.data:
                raise _bad("file must be non-empty")
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
            raise _bad("wrong file identifier/HTTP URL specified")
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

    def _edit_message_text(self, params: JSON) -> JSON:
        markup = _check_markup(params.get("reply_markup"))
        text, entities, raw, parse_mode = self._format(params, "text", "entities")
        message = self._edited_message(params)
        if message.text is None:
            raise _bad("there is no text in the message to edit")
        if not text:
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
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
        markup = _check_markup(params.get("reply_markup"))
        caption, entities, raw, parse_mode = self._caption(params)
        message = self._edited_message(params)
        if message.kind == "text":
            raise _bad("there is no caption in the message to edit")
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
        markup = _check_markup(params.get("reply_markup"))
        message = self._edited_message(params)
        if markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        return self._apply_edit(message, reply_markup=markup)

    def _delete_message(self, params: JSON) -> bool:
        state = self._target(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = state.messages.get(message_id)
        if message is None or message.deleted:
            raise _bad("message to delete not found")
        if not message.outgoing and not state.chat.is_private:
            status = self.member_status.get((state.chat.id, self.bot.id), "member")
            if status not in ("administrator", "creator"):
                raise _bad("message can't be deleted")
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
            raise _bad("MESSAGE_TOO_LONG")
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
            raise _bad('parameter "commands" is required')
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        stored: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand: BotCommand must be an Object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            stored.append({"command": name, "description": description})
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands[key] = stored
        return True

    def _get_my_commands(self, params: JSON) -> list[JSON]:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return list(self._commands.get(key, []))

    def _delete_my_commands(self, params: JSON) -> bool:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
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
            raise _bad("user_id is empty")
        user = self._users.get(user_id)
        if user is None:
            raise _bad("user not found")
        status = self.member_status.get((state.chat.id, user_id), "member")
        return _member_json(status, user.to_api())

    def _send_chat_action(self, params: JSON) -> bool:
        state = self._target(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        state.last_action = str(action)
        return True

    def _close(self, params: JSON) -> bool:
        return True

    def _log_out(self, params: JSON) -> bool:
        return True


# --------------------------------------------------------------------------------------------
# Module helpers
# --------------------------------------------------------------------------------------------


_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def _command_length(text: str) -> int:
    """UTF-16 length of a bot command at the start of ``text`` (tdlib's rules), else 0."""
    match = _COMMAND.match(text)
    if not match:
        return 0
    end = match.end()
    if end < len(text):
        following = text[end]
        if following.isalnum() or following in "_/<>@":
            return 0
    return end


def _valid_entity(entity: Any) -> bool:
    return (
        isinstance(entity, dict)
        and isinstance(entity.get("type"), str)
        and isinstance(entity.get("offset"), int)
        and isinstance(entity.get("length"), int)
    )


def _scope_key(scope: Any) -> str:
    if not scope:
        scope = {"type": "default"}
    if isinstance(scope, dict) and "chat_id" in scope:
        with contextlib.suppress(TypeError, ValueError):
            scope = {**scope, "chat_id": int(scope["chat_id"])}
    return json.dumps(scope, sort_keys=True)


def _check_markup(markup: Any) -> JSON | None:
    """Validate reply_markup like telegram-bot-api; an empty inline keyboard means none."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict):
                    raise _bad(
                        "can't parse inline keyboard button: InlineKeyboardButton should be "
                        "an Object"
                    )
                if not isinstance(button.get("text"), str):
                    raise _bad(
                        'can\'t parse inline keyboard button: Field "text" must be of type String'
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not (
                        1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise _bad("BUTTON_DATA_INVALID")
                elif not any(key in button for key in _BUTTON_ACTIONS):
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
        if not any(rows):
            return None
        return markup
    if any(key in markup for key in ("keyboard", "remove_keyboard", "force_reply")):
        return markup
    raise _bad("can't parse reply keyboard markup JSON object")


def _render_message(message: StoredMessage) -> list[str]:
    """Transcript lines of one bot message in its current state."""
    if message.kind == "photo":
        body = "[photo]" + (f" {message.caption}" if message.caption else "")
    elif message.kind == "document":
        name = (message.document or {}).get("file_name", "document")
        body = f"[document: {name}]" + (f" {message.caption}" if message.caption else "")
    else:
        body = message.text or ""
    lines = body.split("\n")
    for row in message.keyboard:
        lines.append(" ".join(f"[ {button.get('text', '')} ]" for button in row))
    markup = message.reply_markup or {}
    for row in markup.get("keyboard", []) if isinstance(markup, dict) else []:
        labels = (b.get("text", "") if isinstance(b, dict) else str(b) for b in row)
        lines.append(" ".join(f"{{ {label} }}" for label in labels))
    return lines


def _json_response(status: int, body: JSON) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status=status,
        content_type="application/json",
    )


async def _read_params(request: web.BaseRequest) -> JSON:
    """The request's parameters: query string, then a JSON, form or multipart body."""
    params: JSON = dict(request.query) if request.query_string else {}
    if not request.body_exists:
        return params
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise _bad("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise _bad("can't parse JSON object")
        params.update(body)
    elif content_type.startswith("multipart/"):
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                data = await part.read()
                params[part.name] = Upload(
                    part.filename, part.headers.get(hdrs.CONTENT_TYPE), bytes(data)
                )
            else:
                params[part.name] = await part.text()
    else:
        form = await request.post()
        for key, value in form.items():
            params[key] = value if isinstance(value, str) else str(value)
    return params


def _normalize(params: JSON) -> None:
    """Turn form strings into the types a JSON body would carry (in place)."""
    for key, value in params.items():
        if not isinstance(value, str):
            continue
        if key == "chat_id":
            if re.fullmatch(r"-?\d+", value):
                params[key] = int(value)
        elif key in _INT_FIELDS:
            try:
                params[key] = int(value)
            except ValueError:
                raise _bad(f'field "{key}" must be a valid Number') from None
        elif key in _FLOAT_FIELDS:
            try:
                params[key] = float(value)
            except ValueError:
                raise _bad(f'field "{key}" must be a valid Number') from None
        elif key in _BOOL_FIELDS:
            params[key] = value.strip().lower() in ("true", "1")
        elif key in _JSON_FIELDS:
            try:
                params[key] = json.loads(value)
            except ValueError:
                raise _bad(f"can't parse {_JSON_FIELDS[key]} JSON object") from None

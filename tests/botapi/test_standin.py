"""The Bot API stand-in itself: shapes, Telegram's validation, updates, faults, recording."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession, FormData, web
from telegram import (
    Bot,
    BotCommand,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.botapi.standin import (
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    BotApiStandIn,
    HtmlParseError,
    RateLimits,
    parse_html,
    utf16_len,
)

JSON = dict[str, Any]
# A valid 4x2 PNG header: all the stand-in reads of an image.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    + (1600).to_bytes(4, "big")
    + (900).to_bytes(4, "big")
    + b"\x08\x02\x00\x00\x00"
)


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as standin:
        yield standin


@pytest.fixture
async def bot(api: BotApiStandIn) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def call(
    http: ClientSession, api: BotApiStandIn, method: str, **params: Any
) -> tuple[int, JSON]:
    """POST form-encoded like PTB does: strings as-is, everything else JSON-encoded."""
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    async with http.post(f"{api.base_url}{api.token}/{method}", data=form) as response:
        return response.status, await response.json()


# ------------------------------------------------------------------------------ plumbing


async def test_base_url_token_and_get_me(api: BotApiStandIn, bot: Bot) -> None:
    assert api.base_url == f"http://127.0.0.1:{api.port}/bot"
    assert api.env()["TELEGRAM_BASE_URL"] == api.base_url
    me = await bot.get_me()
    assert me.is_bot and me.username == "studybot_test_bot"
    assert me.id == int(api.token.split(":")[0])


async def test_wrong_token_unknown_method_and_file_urls(
    api: BotApiStandIn, http: ClientSession
) -> None:
    async with http.post(f"{api.base_url}123:wrong/getMe") as response:
        assert response.status == 401
        assert await response.json() == {
            "ok": False,
            "error_code": 401,
            "description": "Unauthorized",
        }
    status, body = await call(http, api, "sendSticker", chat_id=1)
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    async with http.get(f"http://127.0.0.1:{api.port}/file/bot{api.token}/photos/x.jpg") as r:
        assert r.status == 404


async def test_ptb_reports_a_wrong_token(api: BotApiStandIn) -> None:
    bad = Bot("1234567:" + "x" * 35, base_url=api.base_url)
    with pytest.raises(InvalidToken):
        await bad.initialize()
    await bad.shutdown()


async def test_json_query_string_and_case_insensitive_methods(
    api: BotApiStandIn, http: ClientSession
) -> None:
    chat = api.private_chat(api.user(5, "Eve"))
    url = f"{api.base_url}{api.token}"
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    async with http.post(
        f"{url}/sendmessage", json={"chat_id": chat.id, "text": "hi", "reply_markup": markup}
    ) as r:
        body = await r.json()
    assert body["ok"] and body["result"]["reply_markup"] == markup
    async with http.get(f"{url}/sendMessage", params={"chat_id": str(chat.id), "text": "q"}) as r:
        assert (await r.json())["result"]["text"] == "q"
    assert [c.method for c in api.calls] == ["sendMessage", "sendMessage"]
    assert api.calls[0].params["chat_id"] == chat.id


# ------------------------------------------------------------------------------ messages


async def test_send_message_shape_and_state(api: BotApiStandIn, http: ClientSession) -> None:
    chat = api.private_chat(api.user(1001, "Alice", "alice"))
    markup = {"inline_keyboard": [[{"text": "Show answer", "callback_data": "show"}]]}
    status, body = await call(
        http,
        api,
        "sendMessage",
        chat_id=chat.id,
        text="<b>Q1</b> 2 &lt; 3 &amp; 🙂 <i>ok</i>",
        parse_mode="HTML",
        reply_markup=markup,
    )
    assert status == 200 and body["ok"] is True
    msg = body["result"]
    assert msg["message_id"] == 1 and isinstance(msg["date"], int)
    assert msg["chat"] == {
        "id": 1001,
        "type": "private",
        "first_name": "Alice",
        "username": "alice",
    }
    assert msg["from"]["is_bot"] is True and msg["from"]["id"] == api.bot.id
    assert msg["text"] == "Q1 2 < 3 & 🙂 ok"
    # 🙂 is two UTF-16 code units, so "ok" starts at 14 (at 13 counting code points).
    assert msg["entities"] == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "italic", "offset": 14, "length": 2},
    ]
    assert msg["reply_markup"] == markup
    [stored] = api.messages(chat.id)
    assert stored.text == msg["text"] and stored.raw_text.startswith("<b>Q1</b>")
    assert stored.parse_mode == "HTML" and stored.button_texts == [["Show answer"]]
    assert stored.callback_data("Show answer") == "show"


async def test_ptb_parses_every_answer(api: BotApiStandIn, bot: Bot) -> None:
    chat = api.private_chat(api.user(7, "Bo"))
    sent = await bot.send_message(
        chat.id, "<a href='example.org'>link</a> <code>x</code>", parse_mode="HTML"
    )
    assert sent.text == "link x"
    assert sent.entities[0].url == "http://example.org/"
    photo = await bot.send_photo(chat.id, PNG, caption="<i>chart</i>", parse_mode="HTML")
    assert photo.caption == "chart" and photo.photo[-1].width == 1600
    assert [p.width for p in photo.photo] == [90, 320, 800, 1280, 1600]
    again = await bot.send_photo(chat.id, photo.photo[-1].file_id)
    assert again.photo[-1].file_id == photo.photo[-1].file_id
    doc = await bot.send_document(chat.id, b"a,b\n1,2\n", filename="stats.csv")
    assert doc.document.file_name == "stats.csv" and doc.document.file_size == 8
    assert await bot.send_chat_action(chat.id, "typing") is True
    assert api.last_chat_action(chat.id) == "typing"
    assert await bot.delete_message(chat.id, doc.message_id) is True
    assert api.messages(chat.id)[-1].deleted
    full = await bot.get_chat(chat.id)
    assert full.first_name == "Bo"
    assert await bot.close() is True and await bot.log_out() is True


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": ""}, "Bad Request: message text is empty"),
        ({"text": " \n\t "}, "Bad Request: message text is empty"),
        ({"text": "<b></b>", "parse_mode": "HTML"}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "🙂" * 2049}, "Bad Request: message is too long"),  # 4098 UTF-16 units
        (
            {"text": "a < b", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2',
        ),
        ({"text": "hi", "parse_mode": "HTML5"}, "Bad Request: unsupported parse_mode"),
        ({"text": "hi", "chat_id": 424242}, "Bad Request: chat not found"),
        ({"text": "hi", "chat_id": "@nobody"}, "Bad Request: chat not found"),
        ({"text": "hi", "reply_to_message_id": 99}, "Bad Request: message to be replied not found"),
        (
            {"text": "hi", "reply_markup": "{oops"},
            "Bad Request: can't parse reply keyboard markup JSON object",
        ),
        (
            {
                "text": "hi",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": ""}]]},
            },
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {
                "text": "hi",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "é" * 33}]]},
            },
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"text": "hi", "reply_markup": {"inline_keyboard": [[{"text": "A"}]]}},
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard",
        ),
        (
            {"text": "hi", "reply_markup": {"inline_keyboard": [{"text": "A"}]}},
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an Array '
            "of Arrays",
        ),
    ],
)
async def test_send_message_validation(
    api: BotApiStandIn, http: ClientSession, params: JSON, description: str
) -> None:
    chat = api.private_chat(api.user(1, "A"))
    status, body = await call(http, api, "sendMessage", **{"chat_id": chat.id, **params})
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": description})
    assert api.messages(chat.id) == []


async def test_limits_are_counted_after_parsing_in_utf16(
    api: BotApiStandIn, http: ClientSession
) -> None:
    chat = api.private_chat(api.user(1, "A"))
    ok = [
        {"text": "<b>" + "x" * 4096 + "</b>", "parse_mode": "HTML"},
        {"text": "&amp;" * 4096, "parse_mode": "HTML"},
        {"text": "🙂" * 2048},
        {"text": "  " + "x" * 4096 + "\n\n"},  # trimmed, like Telegram
    ]
    for params in ok:
        status, body = await call(http, api, "sendMessage", chat_id=chat.id, **params)
        assert status == 200, body
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "é" * 32}]]}  # 64 bytes
    status, _ = await call(http, api, "sendMessage", chat_id=chat.id, text="t", reply_markup=markup)
    assert status == 200
    assert api.messages(chat.id)[3].text == "x" * 4096


async def test_caption_limit(api: BotApiStandIn, bot: Bot) -> None:
    chat = api.private_chat(api.user(1, "A"))
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(chat.id, PNG, caption="c" * 1025)
    assert (await bot.send_photo(chat.id, PNG, caption="c" * 1024)).caption == "c" * 1024
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(chat.id, b"not an image")
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(chat.id, "AgACunknown")


# ------------------------------------------------------------------------------ HTML


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("plain", "plain", []),
        (
            "<strong>a</strong><em>b</em><ins>c</ins><del>d</del>",
            "abcd",
            ["bold", "italic", "underline", "strikethrough"],
        ),
        (
            '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
            "st",
            ["spoiler", "spoiler"],
        ),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1", ["pre"]),
        ("<pre>p</pre><code>c</code>", "pc", ["pre", "code"]),
        (
            "<blockquote>q</blockquote><blockquote expandable>r</blockquote>",
            "qr",
            ["blockquote", "expandable_blockquote"],
        ),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", ["custom_emoji"]),
        ('<a href="tg://user?id=42">you</a>', "you", ["text_mention"]),
        ("&#60;&#x3E;&quot;&#128578;", '<>"🙂', []),
        ("<B>caps</B>", "caps", ["bold"]),
        ("1 > 0", "1 > 0", []),
    ],
)
def test_parse_html_accepts_telegram_html(html: str, text: str, entities: list[str]) -> None:
    parsed, found = parse_html(html)
    assert parsed == text
    assert [e["type"] for e in found] == entities


def test_parse_html_entity_details() -> None:
    _, entities = parse_html('<pre><code class="language-python">x</code></pre>')
    assert entities == [{"type": "pre", "offset": 0, "length": 1, "language": "python"}]
    _, entities = parse_html("<i><b> </b> <code> </code></i>")
    assert entities == [
        {"type": "italic", "offset": 0, "length": 3},
        {"type": "bold", "offset": 0, "length": 1},
        {"type": "code", "offset": 2, "length": 1},
    ]
    assert utf16_len("🏟 🏟") == 5


@pytest.mark.parametrize(
    ("html", "error"),
    [
        # tdlib's own test cases (td/test/message_entities.cpp).
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        (
            "🏟 🏟&lt;<i    aba>",
            'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13',
        ),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        (
            "🏟 🏟&lt;<i>a</em   >",
            'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
        ),
        (
            "&#xDFDF;",
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units",
        ),
        # Tags and nesting.
        ("<b>bold", "Can't find end tag corresponding to start tag b"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<tg-emoji emoji-id="x">y</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("x <", "Unclosed start tag at byte offset 2"),
    ],
)
def test_parse_html_rejects_like_telegram(html: str, error: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(html, strict=False)
    assert str(caught.value) == error


def test_strict_ampersand_and_named_entities() -> None:
    for html in ("Q&A", "&nbsp;", "&lt", "&#X41;", '<a href="https://x.org/?a=1&b=2">x</a>'):
        with pytest.raises(HtmlParseError, match=r'(?i)Character "&"'):
            parse_html(html)
    # Telegram itself keeps those as literal text.
    assert parse_html("Q&A &nbsp; &lt", strict=False)[0] == "Q&A &nbsp; <"
    assert parse_html("Q&amp;A")[0] == "Q&A"


async def test_lenient_html_mode(http: ClientSession) -> None:
    async with BotApiStandIn(strict_html=False) as api:
        chat = api.private_chat(api.user(1, "A"))
        status, body = await call(
            http, api, "sendMessage", chat_id=chat.id, text="Q&A", parse_mode="HTML"
        )
        assert status == 200 and body["result"]["text"] == "Q&A"


# ------------------------------------------------------------------------------ edits


async def test_edit_semantics(api: BotApiStandIn, bot: Bot) -> None:
    chat = api.private_chat(api.user(1, "A"))
    kb = keyboard([("Show answer", "show"), ("Skip", "skip")])
    sent = await bot.send_message(chat.id, "<b>Q</b>", parse_mode="HTML", reply_markup=kb)

    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text(
            "<b>Q</b>", chat.id, sent.message_id, parse_mode="HTML", reply_markup=kb
        )
    assert api.calls[-1].description == NOT_MODIFIED
    # <strong> parses to the same formatted text: still not modified.
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text(
            "<strong>Q</strong>", chat.id, sent.message_id, parse_mode="HTML", reply_markup=kb
        )
    # Same text without reply_markup removes the keyboard: that is a modification.
    edited = await bot.edit_message_text("<b>Q</b>", chat.id, sent.message_id, parse_mode="HTML")
    assert edited.reply_markup is None and edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_reply_markup(chat.id, sent.message_id)
    await bot.edit_message_reply_markup(chat.id, sent.message_id, reply_markup=kb)
    await bot.edit_message_text("A: 42", chat.id, sent.message_id, reply_markup=kb)

    [stored] = api.messages(chat.id)
    assert stored.text == "A: 42" and stored.edit_count == 3
    assert [v.text for v in stored.history] == ["Q", "Q", "Q"]
    assert [v.reply_markup is None for v in stored.history] == [False, True, False]

    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat.id, 999)
    photo = await bot.send_photo(chat.id, PNG)
    with pytest.raises(BadRequest, match=r"(?i)there is no text in the message to edit"):
        await bot.edit_message_text("x", chat.id, photo.message_id)
    await bot.delete_message(chat.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("y", chat.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(chat.id, sent.message_id)


async def test_not_modified_description_is_exact(api: BotApiStandIn, http: ClientSession) -> None:
    chat = api.private_chat(api.user(1, "A"))
    await call(http, api, "sendMessage", chat_id=chat.id, text="same")
    status, body = await call(
        http, api, "editMessageText", chat_id=chat.id, message_id=1, text="same"
    )
    assert (status, body["description"]) == (400, NOT_MODIFIED)


# ------------------------------------------------------------------------------ callbacks


async def test_press_and_answer_callback_query(api: BotApiStandIn, bot: Bot) -> None:
    alice = api.user(1, "Alice")
    chat = api.private_chat(alice)
    sent = await bot.send_message(chat.id, "Q", reply_markup=keyboard([("Show answer", "s:1")]))
    press = api.press(chat, alice, sent.message_id, "s:1")
    [update] = await bot.get_updates()
    assert update.update_id == press.update_id
    query = update.callback_query
    assert query.id == press.query_id and query.data == "s:1"
    assert query.message.message_id == sent.message_id
    assert query.message.reply_markup.inline_keyboard[0][0].text == "Show answer"

    assert await bot.answer_callback_query(press.query_id, "Nope", show_alert=True)
    assert api.answers[press.query_id].text == "Nope" and api.answers[press.query_id].show_alert
    for query_id in (press.query_id, "12345"):
        with pytest.raises(BadRequest) as caught:
            await bot.answer_callback_query(query_id)
        assert "query is too old" in str(caught.value).lower()
    assert api.calls[-1].description == QUERY_TOO_OLD

    with pytest.raises(ValueError, match=r"(?i)no button"):
        api.press(chat, alice, sent.message_id, "s:2")
    assert api.press_button(chat, alice, "Show answer").query_id != press.query_id


async def test_callback_query_ttl() -> None:
    async with BotApiStandIn(callback_query_ttl=0.05) as api:
        alice = api.user(1, "Alice")
        chat = api.private_chat(alice)
        async with Bot(api.token, base_url=api.base_url) as client:
            sent = await client.send_message(chat.id, "Q", reply_markup=keyboard([("A", "a")]))
            press = api.press(chat, alice, sent.message_id, "a")
            await asyncio.sleep(0.1)
            with pytest.raises(BadRequest, match=r"(?i)query is too old"):
                await client.answer_callback_query(press.query_id)


# ------------------------------------------------------------------------------ updates


async def test_get_updates_offset_limit_and_commands(api: BotApiStandIn, bot: Bot) -> None:
    alice = api.user(1, "Alice")
    chat = api.private_chat(alice)
    ids = [
        api.send_text(chat, alice, "/study 3"),
        api.send_text(chat, alice, f"/stats@{api.bot.username} now"),
        api.send_text(chat, alice, "hello /notacommand"),
        api.send_text(chat, alice, "/x@ab"),  # a bot username needs 3+ characters
    ]
    first = await bot.get_updates(limit=2)
    assert [u.update_id for u in first] == ids[:2]
    assert first[0].message.entities[0].length == len("/study")
    assert first[1].message.entities[0].length == len(f"/stats@{api.bot.username}")
    again = await bot.get_updates()  # nothing confirmed yet
    assert [u.update_id for u in again] == ids
    rest = await bot.get_updates(offset=ids[2])
    assert [u.update_id for u in rest] == ids[2:]
    assert rest[0].message.entities == () and rest[1].message.entities == ()
    assert api.pending_updates == 2
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == ids[3:]
    assert await bot.get_updates(offset=ids[3] + 1) == ()
    assert api.pending_updates == 0


async def test_long_poll_wakes_on_update_and_times_out(api: BotApiStandIn, bot: Bot) -> None:
    alice = api.user(1, "Alice")
    chat = api.private_chat(alice)
    started = time.monotonic()
    assert await bot.get_updates(timeout=0.3) == ()
    assert 0.25 <= time.monotonic() - started < 2

    async def later() -> None:
        await asyncio.sleep(0.1)
        api.send_text(chat, alice, "hi")

    task = asyncio.create_task(later())
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    await task
    assert [u.message.text for u in updates] == ["hi"]
    assert time.monotonic() - started < 1


async def test_a_newer_get_updates_ends_the_pending_one(
    api: BotApiStandIn, http: ClientSession
) -> None:
    first = asyncio.create_task(call(http, api, "getUpdates", timeout=5))
    await api.wait_for(lambda: api._poller is not None, what="a pending poll")
    second = await call(http, api, "getUpdates", timeout=0)
    status, body = await first
    assert second == (200, {"ok": True, "result": []})
    assert status == 409 and body["description"].startswith("Conflict: terminated by other")


async def test_allowed_updates_and_replay(api: BotApiStandIn, bot: Bot) -> None:
    alice = api.user(1, "Alice")
    chat = api.private_chat(alice)
    sent = await bot.send_message(chat.id, "Q", reply_markup=keyboard([("A", "a")]))
    await bot.get_updates(allowed_updates=["callback_query"])
    dropped = api.send_text(chat, alice, "ignored")  # created while only presses are wanted
    press = api.press(chat, alice, sent.message_id, "a")
    [update] = await bot.get_updates()
    assert update.update_id == press.update_id and dropped not in api._queue
    await bot.get_updates(offset=press.update_id + 1, allowed_updates=[])
    api.replay(press.update_id)
    [duplicate] = await bot.get_updates(offset=press.update_id + 1)
    assert duplicate.to_dict() == update.to_dict()
    assert await bot.get_updates(offset=press.update_id + 1) == ()
    assert api.update(press.update_id)["callback_query"]["id"] == press.query_id


async def test_webhook(api: BotApiStandIn, bot: Bot) -> None:
    received: list[tuple[str | None, JSON]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/hook"
        alice = api.user(1, "Alice")
        chat = api.private_chat(alice)
        assert await bot.set_webhook(url, secret_token="s3cret")
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await bot.get_updates()
        update_id = api.send_text(chat, alice, "via webhook")
        assert (await bot.get_webhook_info()).pending_update_count == 1
        assert await api.deliver_pending_webhooks() == 1
        assert received == [("s3cret", api.update(update_id))]
        assert await api.deliver_webhook(update_id) == 200
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        assert await bot.get_updates() == ()
    finally:
        await runner.cleanup()


# ------------------------------------------------------------------------------ faults


async def test_blocked_chats(api: BotApiStandIn, bot: Bot) -> None:
    alice = api.user(1, "Alice")
    private = api.private_chat(alice)
    group = api.group(-100, "Study group")
    supergroup = api.group(-1001234567890, "Big group", type="supergroup")
    for chat in (private, group, supergroup):
        api.block(chat)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(private.id, "hi")
    with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the group chat"):
        await bot.send_message(group.id, "hi")
    with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the supergroup chat"):
        await bot.send_chat_action(supergroup.id, "typing")
    api.unblock(private, notify=True)
    assert (await bot.send_message(private.id, "back")).text == "back"
    [update] = await bot.get_updates()
    assert update.my_chat_member.new_chat_member.status == "member"


async def test_fail_next(api: BotApiStandIn, bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without this opt-in PTB 22 warns (PTBDeprecationWarning) whenever it builds RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    chat = api.private_chat(api.user(1, "A"))
    api.fail_next(2, retry_after=3)
    api.fail_next(1, error_code=502)
    assert await bot.get_me()  # not a sending call
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(chat.id, "hi")
        assert caught.value.retry_after.total_seconds() == 3
    assert api.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
        await bot.send_message(chat.id, "hi")
    assert (await bot.send_message(chat.id, "hi")).text == "hi"
    api.fail_next(1, error_code=500, methods=["getMe"])
    with pytest.raises(NetworkError, match=r"(?i)Internal Server Error"):
        await bot.get_me()
    assert api.injected_failure_count == 4 and api.status_counts[429] == 2


async def test_rate_limits(api: BotApiStandIn, http: ClientSession) -> None:
    group = api.group(-5, "G")
    api.set_rate_limits(RateLimits(global_per_second=None, group_per_minute=20))
    for k in range(20):
        status, _ = await call(http, api, "sendMessage", chat_id=group.id, text=f"m{k}")
        assert status == 200
    status, body = await call(http, api, "sendMessage", chat_id=group.id, text="one too many")
    assert status == 429
    retry_after = body["parameters"]["retry_after"]
    assert 58 <= retry_after <= 60 and body["description"].endswith(f"retry after {retry_after}")
    assert api.rate_limited_count == 1

    api.set_rate_limits(RateLimits(global_per_second=5, group_per_minute=None))
    chats = [api.private_chat(api.user(10 + k, f"U{k}")) for k in range(6)]
    statuses = [(await call(http, api, "sendMessage", chat_id=c.id, text="x"))[0] for c in chats]
    assert statuses == [200] * 5 + [429]
    await asyncio.sleep(1.05)
    assert (await call(http, api, "sendMessage", chat_id=chats[0].id, text="x"))[0] == 200


async def test_latency(http: ClientSession) -> None:
    async with BotApiStandIn(latency=0.1) as api:
        started = time.monotonic()
        await call(http, api, "getMe")
        assert time.monotonic() - started >= 0.1


# ------------------------------------------------------------------------------ other methods


async def test_commands_and_members(api: BotApiStandIn, bot: Bot) -> None:
    assert await bot.set_my_commands([BotCommand("study", "Start a session"), ("stats", "Stats")])
    assert api.commands == [
        {"command": "study", "description": "Start a session"},
        {"command": "stats", "description": "Stats"},
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["study", "stats"]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Study", "x")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()

    alice, bob, carol = api.user(1, "Alice"), api.user(2, "Bob"), api.user(3, "Carol")
    group = api.group(-42, "G")
    api.set_member_status(group, alice, "creator")
    api.set_member_status(group, bob, "administrator")
    assert isinstance(await bot.get_chat_member(group.id, alice.id), ChatMemberOwner)
    assert isinstance(await bot.get_chat_member(group.id, bob.id), ChatMemberAdministrator)
    assert isinstance(await bot.get_chat_member(group.id, carol.id), ChatMemberMember)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.get_chat_member(-43, alice.id)


# ------------------------------------------------------------------------------ recording


async def test_transcript(api: BotApiStandIn, bot: Bot) -> None:
    alice = api.user(1, "Alice")
    chat = api.private_chat(alice)
    api.send_text(chat, alice, "/study 3")
    q = await bot.send_message(
        chat.id,
        "<b>Question 1/3</b>\nWhat is &lt;attention&gt;?",
        parse_mode="HTML",
        reply_markup=keyboard([("Show answer", "show"), ("Skip", "skip")], [("Stop", "stop")]),
    )
    press = api.press(chat, alice, q.message_id, "show")
    await bot.answer_callback_query(press.query_id, "Too early!", show_alert=True)
    await bot.edit_message_text(
        "<b>Question 1/3</b>\nAnswer: weights",
        chat.id,
        q.message_id,
        parse_mode="HTML",
        reply_markup=keyboard([("Again", "g:1"), ("Good", "g:3")]),
    )
    await bot.send_photo(chat.id, PNG, caption="Your week")
    gone = await bot.send_message(chat.id, "temporary")
    await bot.delete_message(chat.id, gone.message_id)
    assert api.transcript(chat.id) == "\n".join(
        [
            "> /study 3",
            "Question 1/3",
            "Answer: weights",
            "[ Again ] [ Good ]",
            "[pressed: Show answer]",
            "(alert: Too early!)",
            "[photo] Your week",
        ]
    )
    group = api.group(-7, "G")
    api.send_text(group, alice, "hi all")
    assert api.transcript(group) == "> Alice: hi all"


async def test_record_false_keeps_counters_only(http: ClientSession) -> None:
    async with BotApiStandIn(record=False) as api:
        chat = api.private_chat(api.user(1, "A"))
        for k in range(3):
            await call(http, api, "sendMessage", chat_id=chat.id, text=f"m{k}")
        await call(http, api, "editMessageText", chat_id=chat.id, message_id=1, text="new")
        assert api.calls == [] and len(api.call_times) == 4
        assert api.method_counts == {"sendMessage": 3, "editMessageText": 1}
        assert api.messages(chat.id)[0].text == "new" and api.messages(chat.id)[0].history == []
        assert api.transcript(chat.id) == ""


async def test_wait_for(api: BotApiStandIn, bot: Bot) -> None:
    chat = api.private_chat(api.user(1, "A"))

    async def send_later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(chat.id, "one")
        await bot.send_message(chat.id, "two")

    task = asyncio.create_task(send_later())
    messages = await api.wait_for_message(chat.id, count=2, timeout=5)
    await task
    assert [m.text for m in messages] == ["one", "two"]
    assert len(await api.wait_for_call("sendmessage", count=2)) == 2
    with pytest.raises(TimeoutError, match=r"(?i)3 bot message"):
        await api.wait_for_message(chat.id, count=3, timeout=0.1)


async def test_uploads_arrive_as_multipart(api: BotApiStandIn, http: ClientSession) -> None:
    chat = api.private_chat(api.user(1, "A"))
    form = FormData()
    form.add_field("chat_id", str(chat.id))
    form.add_field("caption", "<b>c</b>")
    form.add_field("parse_mode", "HTML")
    form.add_field("photo", PNG, filename="chart.png", content_type="image/png")
    async with http.post(f"{api.base_url}{api.token}/sendPhoto", data=form) as response:
        body = await response.json()
    assert body["result"]["caption"] == "c"
    upload = api.calls[-1].params["photo"]
    assert upload.filename == "chart.png" and upload.data == PNG


# ------------------------------------------------------------------------------ with PTB


async def test_a_real_application_polls_the_stand_in(api: BotApiStandIn) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"args={context.args}", reply_markup=keyboard([("Show answer", "show")])
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("ok")
        await query.edit_message_text("Answer: 42")

    app = (
        Application.builder()
        .token(api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    alice = api.user(1001, "Alice")
    chat = api.private_chat(alice)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            api.send_text(chat, alice, f"/start@{api.bot.username} 3")
            [question] = await api.wait_for_message(chat.id, count=1)
            api.press_button(chat, alice, "Show answer", question.message_id)
            await api.wait_for(lambda: question.text == "Answer: 42", what="the edit")
        finally:
            await app.updater.stop()
            await app.stop()
    assert api.transcript(chat.id) == "\n".join(
        ["> /start@studybot_test_bot 3", "Answer: 42", "[pressed: Show answer]", "(toast: ok)"]
    )
    assert api.pending_updates == 0
    assert api.internal_errors == []


async def test_a_bug_in_the_stand_in_answers_500(api: BotApiStandIn, http: ClientSession) -> None:
    def broken(params: JSON) -> JSON:
        raise KeyError("oops")

    api._handlers["getme"] = ("getMe", broken, False)
    status, body = await call(http, api, "getMe")
    assert status == 500 and "stand-in bug" in body["description"]
    assert len(api.internal_errors) == 1 and api.calls[-1].status == 500

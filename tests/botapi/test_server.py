"""The server: plumbing, messages and their validation, edits, callback answers, commands."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import ClientSession, FormData
from telegram import Bot, BotCommand, ChatMemberAdministrator, ChatMemberMember, ChatMemberOwner
from telegram.error import BadRequest, InvalidToken

from tests.botapi import NOT_MODIFIED, QUERY_TOO_OLD, BotApiStandIn
from tests.botapi.conftest import JSON, PNG, call, keyboard

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


async def test_a_bug_in_the_stand_in_answers_500(api: BotApiStandIn, http: ClientSession) -> None:
    def broken(params: JSON) -> JSON:
        raise KeyError("oops")

    api._handlers["getme"] = ("getMe", broken, False)
    status, body = await call(http, api, "getMe")
    assert status == 500 and "stand-in bug" in body["description"]
    assert len(api.internal_errors) == 1 and api.calls[-1].status == 500

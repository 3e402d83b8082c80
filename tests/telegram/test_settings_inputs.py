"""Natural inputs and the whole /settings, end to end: the real bot over HTTP (issue 17, points 9
and 11)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.core.schedule import ChatSettings
from tests.botapi import BotApiStandIn
from tests.botapi.state import Chat, User
from tests.harness import RunningBot

# Monday 7 December 2026, 10:00 UTC (11:00 in Berlin, 05:00 in New York).
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


async def _say(api: BotApiStandIn, chat: Chat, user: User, text: str, **kwargs: int) -> str:
    """Send ``text``; the bot's answer (its next message)."""
    count = len(api.messages(chat.id)) + 1
    api.send_text(chat, user, text, **kwargs)
    await api.wait_for(lambda: len(api.messages(chat.id)) >= count, timeout=15)
    return api.messages(chat.id)[count - 1].text or ""


async def _press(api: BotApiStandIn, chat: Chat, user: User, label: str, message_id: int) -> str:
    """Press a button; the text of the message it edits, once edited."""
    before = api.message(chat.id, message_id).edit_count
    api.press_button(chat, user, label, message_id)
    await api.wait_for(lambda: api.message(chat.id, message_id).edit_count > before, timeout=15)
    return api.message(chat.id, message_id).text or ""


def _settings(bot: RunningBot, chat_id: int) -> ChatSettings:
    found = bot.deps.chats.get(chat_id)
    assert found is not None
    return found


def _exam(bot: RunningBot, user: User) -> date | None:
    return bot.deps.progress.progress(bot.learner(user.id), NOW, UTC).exam


async def test_times_and_zones_as_people_type_them(api: BotApiStandIn, bot: RunningBot) -> None:
    ann = api.user(6001, "Ann")
    chat = api.private_chat(ann)
    bot.set_clock(NOW)
    reply = await _say(api, chat, ann, "/daily 8am berlin")
    assert "Daily push: on, at 08:00 (Europe/Berlin)" in reply
    assert "Next push: tomorrow 08:00 (Europe/Berlin)" in reply  # 08:00 has passed in Berlin
    reply = await _say(api, chat, ann, "/daily 8:30 pm")
    assert "Next push: today 20:30 (Europe/Berlin)" in reply
    for typed, clock in [("20:15", "20:15"), ("20h", "20:00"), ("7 am", "07:00")]:
        await _say(api, chat, ann, f"/daily {typed}")
        assert _settings(bot, chat.id).push_time == clock, typed
    for typed, name in [
        ("new york", "America/New_York"),
        ("sao paulo", "America/Sao_Paulo"),
        ("EUROPE/LONDON", "Europe/London"),
        ("CET", "Europe/Berlin"),
        ("JST", "Asia/Tokyo"),
        ("+05:30", "UTC+05:30"),
    ]:
        reply = await _say(api, chat, ann, f"/timezone {typed}")
        assert _settings(bot, chat.id).timezone == name, typed
        assert f"Time zone: {name}" in reply and f"({name})" in reply, reply
    # 10:00 UTC is 15:30 at +05:30: 07:00 there is tomorrow.
    assert "Next push: tomorrow 07:00 (UTC+05:30)" in reply
    # Bad input: a short answer, nothing changed.
    assert "I can't read “25:00” as a time" in await _say(api, chat, ann, "/daily 25:00")
    assert "I don't know the time zone “Atlantis”" in await _say(
        api, chat, ann, "/timezone Atlantis"
    )
    settings = _settings(bot, chat.id)
    assert (settings.push_time, settings.timezone) == ("07:00", "UTC+05:30")


async def test_an_ambiguous_abbreviation_asks_which_zone(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    bea = api.user(6002, "Bea")
    chat = api.private_chat(bea)
    bot.set_clock(NOW)
    reply = await _say(api, chat, bea, "/timezone IST")
    assert "IST may mean several zones" in reply and "Kolkata (UTC+05:30)" in reply
    asked = api.messages(chat.id)[-1]
    assert asked.button_texts == [["Kolkata", "Dublin", "Jerusalem"]]
    assert _settings(bot, chat.id).timezone == "UTC"  # nothing changed yet
    edited = await _press(api, chat, bea, "Kolkata", asked.message_id)
    assert _settings(bot, chat.id).timezone == "Asia/Kolkata"
    assert "Time zone: Asia/Kolkata" in edited
    # With a time: both are set by the choice, and the push is on.
    await _say(api, chat, bea, "/daily 7am IST")
    asked = api.messages(chat.id)[-1]
    edited = await _press(api, chat, bea, "Dublin", asked.message_id)
    settings = _settings(bot, chat.id)
    assert (settings.push_time, settings.timezone, settings.subscribed) == (
        "07:00",
        "Europe/Dublin",
        True,
    )
    assert "Next push: tomorrow 07:00 (Europe/Dublin)" in edited


async def test_quiet_hours_say_when_the_push_comes_or_that_it_is_off(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    cy = api.user(6003, "Cy")
    chat = api.private_chat(cy)
    bot.set_clock(NOW)
    await _say(api, chat, cy, "/daily 23:00 Europe/Berlin")
    reply = await _say(api, chat, cy, "/quiet 10pm-7am")
    assert reply == (
        "Quiet hours 22:00-07:00: no push inside them.\nNext push: tomorrow 07:00 (Europe/Berlin)"
    )
    await _say(api, chat, cy, "/daily off")
    reply = await _say(api, chat, cy, "/quiet 22:00-06:30")
    assert reply == "Quiet hours 22:00-06:30: no push inside them.\nDaily push: off."
    assert "Usage: /quiet" in await _say(api, chat, cy, "/quiet soon")
    reply = await _say(api, chat, cy, "/size 1")
    assert "Daily push: off (set for 23:00)" in reply and "up to 1 item per push" in reply
    reply = await _say(api, chat, cy, "/daily on")
    assert "Next push: tomorrow 06:30 (Europe/Berlin)" in reply  # the end of the quiet hours
    assert _settings(bot, chat.id).quiet == "22:00-06:30"


async def test_interview_dates_as_people_write_them(api: BotApiStandIn, bot: RunningBot) -> None:
    dee = api.user(6004, "Dee")
    chat = api.private_chat(dee)
    bot.set_clock(NOW)
    for typed, day in [
        ("2027-01-20", date(2027, 1, 20)),
        ("20 Jan", date(2027, 1, 20)),
        ("in 3 weeks", date(2026, 12, 28)),
        ("next friday", date(2026, 12, 11)),
    ]:
        reply = await _say(api, chat, dee, f"/exam {typed}")
        assert reply.startswith(f"Interview on {day:%A} {day.day} {day:%B %Y}."), reply
        assert _exam(bot, dee) == day
    reply = await _say(api, chat, dee, "/exam 20 Jan 2026")
    assert reply.startswith("Tuesday 20 January 2026 is in the past. Usage: /exam DATE")
    assert "can't read “someday” as a date" in await _say(api, chat, dee, "/exam someday")
    assert _exam(bot, dee) == date(2026, 12, 11)  # unchanged
    # Read in the chat's zone: at 23:30 UTC it is already Tuesday in Tokyo.
    bot.set_clock(datetime(2026, 12, 7, 23, 30, tzinfo=UTC))
    await _say(api, chat, dee, "/timezone tokyo")
    assert (await _say(api, chat, dee, "/exam today")).startswith("Interview on Tuesday 8 December")


async def test_drill_a_category_by_its_words(api: BotApiStandIn, bot: RunningBot) -> None:
    eve = api.user(6005, "Eve")
    chat = api.private_chat(eve)
    items = {i.id: i for i in bot.deps.study.catalog.in_curriculum_order()}
    for typed, category, n in [("LLM architecture", "llm_architecture", 5), ("rlhf 3", "rlhf", 3)]:
        question = await _say(api, chat, eve, f"/drill {typed}")
        assert question.startswith(f"1/{n}"), question
        [(queue,)] = bot.rows(
            "SELECT queue FROM study_sessions WHERE kind = 'drill' ORDER BY id DESC LIMIT 1"
        )
        assert len(queue.split(",")) == n
        assert {items[i].category for i in queue.split(",")} == {category}
    reply = await _say(api, chat, eve, "/drill cooking")
    assert reply.startswith("There is no category “cooking”. Usage: /drill CATEGORY [N]")
    assert "LLM architecture" in reply
    assert "1 to 50 items" in await _say(api, chat, eve, "/drill rlhf 80")


async def test_settings_show_and_edit_everything(api: BotApiStandIn, bot: RunningBot) -> None:
    fay = api.user(6006, "Fay")
    chat = api.private_chat(fay)
    bot.set_clock(NOW)
    await _say(api, chat, fay, "/daily 9am")
    text = await _say(api, chat, fay, "/settings")
    assert text.splitlines() == [
        "Settings",
        "Daily push: on, at 09:00 (UTC)",
        "Next push: tomorrow 09:00 (UTC)",
        "Time zone: UTC",
        "Size: up to 10 items per push",
        "Quiet hours: none",
        "Interview date: not set",
    ]
    panel = api.messages(chat.id)[-1]
    assert panel.button_texts == [
        ["Turn daily push off"],
        ["Time −1 h", "Time +1 h"],
        ["Size −1", "Size +1"],
        ["✓ UTC", "London", "Berlin", "New York"],
        ["Other zone: type a city"],
        ["Quiet hours 22:00-07:00"],
        ["Set interview date"],
    ]
    text = await _press(api, chat, fay, "Berlin", panel.message_id)
    assert "Next push: tomorrow 09:00 (Europe/Berlin)" in text
    assert "Time zone: Europe/Berlin, now UTC+01:00" in text
    same = api.press_button(chat, fay, "✓ Berlin", panel.message_id)  # nothing to edit
    await api.wait_for(lambda: api.callback_queries[same.query_id].answered, timeout=10)
    text = await _press(api, chat, fay, "Quiet hours 22:00-07:00", panel.message_id)
    assert "Quiet hours: 22:00-07:00" in text
    assert ["No quiet hours"] in api.message(chat.id, panel.message_id).button_texts
    # "Type a city": the next text is the zone; one it does not know is asked again.
    api.press_button(chat, fay, "Other zone: type a city", panel.message_id)
    await api.wait_for(lambda: "Which time zone?" in (api.messages(chat.id)[-1].text or ""))
    prompt = api.messages(chat.id)[-1]
    assert prompt.reply_markup is not None and prompt.reply_markup.get("force_reply") is True
    assert "I don't know the time zone “Gotham”" in await _say(api, chat, fay, "Gotham")
    reply = await _say(api, chat, fay, "São Paulo")
    assert "Time zone: America/Sao_Paulo" in reply
    assert "Next push: today 09:00 (America/Sao_Paulo)" in reply  # 07:00 there now
    assert _settings(bot, chat.id).timezone == "America/Sao_Paulo"
    # Answered: the next text is no zone any more.
    assert "Time zone" not in await _say(api, chat, fay, "berlin")  # what any text gets
    assert _settings(bot, chat.id).timezone == "America/Sao_Paulo"
    # The interview date, typed after its button, then cleared.
    api.press_button(chat, fay, "Set interview date", panel.message_id)
    await api.wait_for(lambda: "When is your interview?" in (api.messages(chat.id)[-1].text or ""))
    assert "is in the past" in await _say(api, chat, fay, "yesterday")
    reply = await _say(api, chat, fay, "in 3 weeks")
    assert reply.startswith("Interview on Monday 28 December 2026.")
    assert "Interview date: Mon 28 Dec 2026" in reply
    assert _exam(bot, fay) == date(2026, 12, 28)
    panel = api.messages(chat.id)[-1]
    text = await _press(api, chat, fay, "Clear interview date", panel.message_id)
    assert "Interview date: not set" in text and _exam(bot, fay) is None
    # A command drops a question nobody answered.
    api.press_button(chat, fay, "Other zone: type a city", panel.message_id)
    await api.wait_for(lambda: "Which time zone?" in (api.messages(chat.id)[-1].text or ""))
    await _say(api, chat, fay, "/plan")
    assert "Time zone" not in await _say(api, chat, fay, "tokyo")
    assert _settings(bot, chat.id).timezone == "America/Sao_Paulo"


async def test_group_settings_stay_with_the_administrators(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    group = api.group(-6100, "Prep club")
    boss, guest = api.user(6101, "Boss"), api.user(6102, "Guest")
    api.set_member_status(group, boss, "administrator")
    bot.set_clock(NOW)
    text = await _say(api, group, boss, "/settings")
    assert "Size: 3 items per push" in text and "Interview date" not in text
    panel = api.messages(group.id)[-1]
    assert ["Set interview date"] not in panel.button_texts
    pressed = api.press_button(group, guest, "Time +1 h", panel.message_id)
    await api.wait_for(lambda: api.callback_queries[pressed.query_id].answered, timeout=10)
    assert "Only the group's administrators" in (api.callback_queries[pressed.query_id].text or "")
    api.press_button(group, boss, "Other zone: type a city", panel.message_id)
    await api.wait_for(lambda: "Which time zone?" in (api.messages(group.id)[-1].text or ""))
    prompt = api.messages(group.id)[-1]
    assert (prompt.text or "").startswith("Boss: Which time zone?")
    api.send_text(group, guest, "paris", reply_to=prompt.message_id)  # not theirs to answer
    reply = await _say(api, group, boss, "tokyo", reply_to=prompt.message_id)
    assert "Time zone: Asia/Tokyo" in reply
    assert _settings(bot, group.id).timezone == "Asia/Tokyo"

"""A group's reveal as one message with a [Full answer] deep link, personal commands answered
in private, and the welcome when the bot is added: the real bot against the stand-in, with
Telegram's group limits on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.telegram.handlers import groups
from tests.botapi import BotApiStandIn, RateLimits, StoredMessage
from tests.harness import RunningBot

NOW = datetime(2026, 6, 3, 12, tzinfo=UTC)


async def _revealable(api: BotApiStandIn, chat_id: int) -> StoredMessage:
    """The first post with [Show answer] (a quiz item may be a poll instead)."""

    def post() -> StoredMessage | None:
        return next((m for m in api.messages(chat_id) if ["Show answer"] in m.button_texts), None)

    found: StoredMessage = await api.wait_for(post, timeout=15, what="a post to reveal")
    return found


async def test_a_reveal_is_one_message_and_full_answer_opens_in_private(
    api: BotApiStandIn, bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(groups, "TALLY_EVERY", 1.0)  # the tally follows the reveal sooner
    api.set_rate_limits(RateLimits(group_per_minute=20))
    bot.set_clock(NOW)
    group = api.group(-6001, "Reading club", type="supergroup")
    ann, bob = api.user(6101, "Ann"), api.user(6102, "Bob")
    api.send_text(group, ann, "/study 5")
    await api.wait_for(lambda: len(api.messages(group.id)) == 6, timeout=15)  # header + 5
    post = await _revealable(api, group.id)
    question = post.text or ""
    post_id = int(post.callback_data("Show answer").split(":")[1])
    sent_before = len(api.messages(group.id))
    api.press_button(group, bob, "Show answer", post.message_id)
    await api.wait_for(lambda: api.message(group.id, post.message_id).edit_count == 1, timeout=10)
    revealed = api.message(group.id, post.message_id)
    [(item_id,)] = bot.rows("SELECT item_id FROM group_posts WHERE id = ?", post_id)
    item = bot.deps.study.catalog.get(item_id)
    assert item is not None
    text = revealed.text or ""
    # One message: the question as posted, the short answer and key points, formulas as text.
    assert text.startswith(question) and "Short answer" in text and "Key points" in text
    assert "$" not in text and "\\" not in text
    assert "Answer\n" not in text  # the full answer is a button away
    assert len(api.messages(group.id)) == sent_before and not api.calls_of("sendPhoto")
    assert revealed.button_texts == [["1 · No idea", "2 · Partial", "3 · Got it"], ["Full answer"]]
    url = revealed.button("Full answer")["url"]
    assert url == f"https://t.me/{api.bot.username}?start=full-{item_id}"
    # Rating edits the tally into the same message, after the reveal.
    api.press_button(group, bob, "3 · Got it", post.message_id)
    await api.wait_for(
        lambda: (
            "Rated by 1 · No idea 0 · Partial 0 · Got it 1\nBob"
            in (api.message(group.id, post.message_id).text or "")
        ),
        timeout=15,
    )
    assert (api.message(group.id, post.message_id).text or "").startswith(text)

    # Bob never started the bot: the link's /start is his first contact, the start screen first.
    payload = url.rpartition("?start=")[2]
    bob_chat = api.private_chat(bob)
    api.send_text(bob_chat, bob, f"/start {payload}")

    def private_text() -> str:
        return "\n".join(m.text or m.caption or "" for m in api.messages(bob_chat.id)[1:])

    await api.wait_for(lambda: "Follow-up questions" in private_text(), timeout=10)
    assert "Hi! I help you prepare" in (api.messages(bob_chat.id)[0].text or "")
    assert private_text().startswith(f"{item.type} · {item.category}\n{item.title}")
    assert "Short answer" in private_text() and "\nAnswer\n" in private_text()
    assert bot.deps.chats.get(bob_chat.id).subscribed  # type: ignore[union-attr]
    # Someone who has started the bot gets the item alone.
    count = len(api.messages(bob_chat.id))
    api.send_text(bob_chat, bob, f"/start {payload}")
    await api.wait_for(lambda: len(api.messages(bob_chat.id)) == 2 * count - 1, timeout=10)
    assert "Hi! I help you prepare" not in (api.messages(bob_chat.id)[count].text or "")
    assert item.title in (api.messages(bob_chat.id)[count].text or "")
    # A payload that names nothing is a plain /start; one whose item is gone says so.
    count = len(api.messages(bob_chat.id))
    api.send_text(bob_chat, bob, "/start full-zz999")
    await api.wait_for(lambda: len(api.messages(bob_chat.id)) > count, timeout=10)
    assert "no longer available" in (api.messages(bob_chat.id)[-1].text or "")
    api.send_text(bob_chat, bob, "/start nonsense")
    await api.wait_for(lambda: len(api.messages(bob_chat.id)) > count + 1, timeout=10)
    assert "Hi! I help you prepare" in (api.messages(bob_chat.id)[-1].text or "")


async def test_personal_commands_in_a_group_are_answered_in_private(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    api.set_rate_limits(RateLimits(group_per_minute=20))
    bot.set_clock(NOW)
    group = api.group(-6002, "Interview prep")
    ann, bob, cy = api.user(6201, "Ann"), api.user(6202, "Bob"), api.user(6203, "Cy")
    api.set_member_status(group, ann, "administrator")
    bob_chat = api.private_chat(bob)
    api.send_text(bob_chat, bob, "/start")
    await api.wait_for(lambda: api.messages(bob_chat.id), timeout=10)
    # Bob has studied in the group: his weak spots exist, and must not be posted there.
    api.send_text(group, ann, "/study 5")
    post = await _revealable(api, group.id)
    api.press_button(group, ann, "Show answer", post.message_id)
    await api.wait_for(lambda: api.message(group.id, post.message_id).edit_count, timeout=10)
    api.press_button(group, bob, "1 · No idea", post.message_id)
    await api.wait_for(lambda: bot.rows("SELECT count(*) FROM group_ratings") == [(1,)])

    in_group = len(api.messages(group.id))
    in_private = len(api.messages(bob_chat.id))
    api.send_text(group, bob, "/weak")
    await api.wait_for(lambda: len(api.messages(bob_chat.id)) > in_private, timeout=10)
    assert "Weak spots" in (api.messages(bob_chat.id)[-1].text or "")
    await api.wait_for(lambda: len(api.messages(group.id)) > in_group, timeout=10)
    assert api.messages(group.id)[-1].text == "Sent to you in private."
    assert not any("Weak spots" in (m.text or "") for m in api.messages(group.id))

    # Cy never started the bot: a one-line pointer with a link that starts it.
    api.send_text(group, cy, "/export")
    await api.wait_for(lambda: len(api.messages(group.id)) > in_group + 1, timeout=10)
    pointer = api.messages(group.id)[-1]
    assert pointer.text == "/export is personal: I answer it in a private chat."
    url = pointer.button("Open a private chat")["url"]
    assert url == f"https://t.me/{api.bot.username}?start=export"
    cy_chat = api.private_chat(cy)
    api.send_text(cy_chat, cy, "/start export")
    await api.wait_for(lambda: len(api.messages(cy_chat.id)) >= 2, timeout=10)
    welcome, export = api.messages(cy_chat.id)[:2]
    assert "Hi! I help you prepare" in (welcome.text or "")
    assert "Nothing to export yet" in (export.text or "")

    # /settings: an admin's in a group is the group's; a member's is their own, in private.
    api.send_text(group, ann, "/settings")
    await api.wait_for(lambda: len(api.messages(group.id)) > in_group + 2, timeout=10)
    assert "Settings" in (api.messages(group.id)[-1].text or "")
    in_private = len(api.messages(bob_chat.id))
    api.send_text(group, bob, "/settings")
    await api.wait_for(lambda: len(api.messages(bob_chat.id)) > in_private, timeout=10)
    assert "up to 10 items per push" in (api.messages(bob_chat.id)[-1].text or "")
    await api.wait_for(lambda: len(api.messages(group.id)) > in_group + 3, timeout=10)
    assert api.messages(group.id)[-1].text == "Sent to you in private."

    # Bob blocks the bot: the group gets the pointer, not an error.
    api.block(bob_chat)
    api.send_text(group, bob, "/exam")
    await api.wait_for(lambda: len(api.messages(group.id)) > in_group + 4, timeout=10)
    assert api.messages(group.id)[-1].text == "/exam is personal: I answer it in a private chat."
    assert api.rate_limited_count == 0


async def test_the_bot_added_to_a_group_says_what_it_does(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    api.set_rate_limits(RateLimits(group_per_minute=20))
    bot.set_clock(NOW)
    group = api.group(-6003, "New group")
    dan = api.user(6301, "Dan")
    api.block(group)
    api.unblock(group, notify=True)  # my_chat_member: kicked -> member, i.e. added again
    welcome = await api.wait_for(lambda: api.last_message(group.id), timeout=10)
    assert "/daily HH:MM zone" in (welcome.text or "")
    assert welcome.button_texts == [["Try 3 items now"]]
    assert len(api.messages(group.id)) == 1
    api.press_button(group, dan, "Try 3 items now", welcome.message_id)
    await api.wait_for(
        lambda: bot.rows("SELECT count(*) FROM group_posts WHERE chat_id = ?", group.id) == [(3,)],
        timeout=10,
    )
    await api.wait_for(lambda: len(api.messages(group.id)) == 5, timeout=10)  # header + 3
    assert api.message(group.id, welcome.message_id).button_texts == []
    # The bot leaving, or a member joining, is no welcome.
    api.block(group, notify=True)
    await api.wait_for(lambda: api.pending_updates == 0, timeout=10)
    assert len(api.messages(group.id)) == 5

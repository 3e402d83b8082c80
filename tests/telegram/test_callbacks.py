"""Button actions: the wire format of buttons already in chats, its strictness, and the routing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from telegram import CallbackQuery, Update, User
from telegram.ext import ApplicationBuilder, CallbackQueryHandler

from bot.core.schedule import ChatSettings
from bot.telegram import keyboards
from bot.telegram.callbacks import MAX_BYTES, Action, Callback, decode, encode, pattern
from bot.telegram.handlers import account, basic, find, groups, learner, register, settings, study

# (data as sent to chats, the action with its fields as encode takes them, what decode gives)
WIRE = [
    ("a:12:3", (Action.REVEAL, 12, 3), Callback(Action.REVEAL, id=12, position=3)),
    ("r:12:3:2", (Action.RATE, 12, 3, 2), Callback(Action.RATE, id=12, position=3, grade=2)),
    ("k:12:3", (Action.SKIP, 12, 3), Callback(Action.SKIP, id=12, position=3)),
    ("s:12:0", (Action.SUSPEND, 12, 0), Callback(Action.SUSPEND, id=12)),
    ("p:7:0", (Action.GROUP_REVEAL, 7), Callback(Action.GROUP_REVEAL, id=7)),
    ("g:7:0:3", (Action.GROUP_RATE, 7, 3), Callback(Action.GROUP_RATE, id=7, grade=3)),
    ("c:45:0", (Action.CHANGE, 45), Callback(Action.CHANGE, id=45)),
    ("x:45:0:2", (Action.CHANGE_TO, 45, 2), Callback(Action.CHANGE_TO, id=45, grade=2)),
    ("n", (Action.NOOP,), Callback(Action.NOOP)),
    ("z:y", (Action.RESET, "y"), Callback(Action.RESET, arg="y")),
    ("z:n", (Action.RESET, "n"), Callback(Action.RESET, arg="n")),
    ("t:on", (Action.SETTINGS, "on"), Callback(Action.SETTINGS, arg="on")),
    ("t:h+", (Action.SETTINGS, "h+"), Callback(Action.SETTINGS, arg="h+")),
    ("t:s-", (Action.SETTINGS, "s-"), Callback(Action.SETTINGS, arg="s-")),
    ("t:q1", (Action.SETTINGS, "q1"), Callback(Action.SETTINGS, arg="q1")),
    ("t:z?", (Action.SETTINGS, "z?"), Callback(Action.SETTINGS, arg="z?")),
    (
        "t:z:Asia/Tokyo",
        (Action.SETTINGS, "z:Asia/Tokyo"),
        Callback(Action.SETTINGS, arg="z:Asia/Tokyo"),
    ),
    (
        "t:z:UTC+05:30@20:15",
        (Action.SETTINGS, "z:UTC+05:30@20:15"),
        Callback(Action.SETTINGS, arg="z:UTC+05:30@20:15"),
    ),
    ("o:c014", (Action.OPEN, "c014"), Callback(Action.OPEN, arg="c014")),
    ("f:y", (Action.FORGET, "y"), Callback(Action.FORGET, arg="y")),
    ("u:q-12", (Action.UNSUSPEND, "q-12"), Callback(Action.UNSUSPEND, arg="q-12")),
    ("d:transformers", (Action.DRILL, "transformers"), Callback(Action.DRILL, arg="transformers")),
    ("m:12:3:5", (Action.TICK, 12, 3, "5"), Callback(Action.TICK, id=12, position=3, arg="5")),
    ("w:12:3", (Action.FULL, 12, 3), Callback(Action.FULL, id=12, position=3)),
    ("y:12", (Action.CONTINUE, 12), Callback(Action.CONTINUE, id=12)),
    ("b:10", (Action.STUDY, "10"), Callback(Action.STUDY, arg="10")),
    ("b:20-quiz", (Action.STUDY, "20-quiz"), Callback(Action.STUDY, arg="20-quiz")),
    ("q:stats", (Action.MENU, "stats"), Callback(Action.MENU, arg="stats")),
    ("v:off", (Action.QUIZ_POLLS, "off"), Callback(Action.QUIZ_POLLS, arg="off")),
    ("e", (Action.TRY,), Callback(Action.TRY)),
]

REFUSED = [
    None,
    "",
    "garbage",
    "r:1:0:9",  # no such grade
    "r:1:0",  # a rating without its grade
    "a:1:0:2",  # a reveal with one
    "a:1:5:",
    "p:7:1",  # a group post has no position
    "g:7:0",
    "c:45:1",
    "x:45:0:0",
    "a:1234567890123:0",  # 13 digits
    "a:١:0",  # a digit, but not an ASCII one
    "a:1:0\n",
    " a:1:0",
    "n:1",
    "z:maybe",
    "t:h*",
    "t:on:1",
    "t:z:",
    "t:z:../etc/passwd",
    "t:z:Asia/Kolkata@8:00",
    "t:z:" + "A" * 41,
    "o:",
    "o:1abc",  # an item id starts with a letter
    "o:c 14",
    "u:" + "a" * 63,  # 65 bytes
    "d:Transformers",
    "v:maybe",
    "d:" + "a" * 41,
    "x" * 64,
    "é" * 40,
]


@pytest.mark.parametrize(("data", "fields", "press"), WIRE, ids=[w[0] for w in WIRE])
def test_buttons_in_chats_keep_their_data(
    data: str, fields: tuple[Any, ...], press: Callback
) -> None:
    assert encode(*fields) == data
    assert decode(data) == press
    match = pattern(press.action).match(data)
    assert match is not None and Callback.from_match(match) == press


def test_every_action_has_a_pattern_that_no_other_action_matches() -> None:
    for data, _fields, press in WIRE:
        assert [a for a in Action if pattern(a).match(data)] == [press.action]
    assert {press.action for _d, _f, press in WIRE} == set(Action)


@pytest.mark.parametrize("data", REFUSED)
def test_forged_and_malformed_data_is_refused(data: str | None) -> None:
    assert decode(data) is None
    assert not any(pattern(a).match(data or "") for a in Action if data)


def test_the_longest_data_of_every_action_fits_telegrams_limit() -> None:
    longest = {
        Action.REVEAL: (10**12 - 1, 10**6 - 1),
        Action.RATE: (10**12 - 1, 10**6 - 1, 3),
        Action.GROUP_RATE: (10**12 - 1, 3),
        Action.CHANGE_TO: (10**12 - 1, 3),
        Action.OPEN: ("a" * 62,),
        Action.UNSUSPEND: ("a" * 62,),
        Action.DRILL: ("a" * 40,),
    }
    for action, fields in longest.items():
        data = encode(action, *fields)
        assert len(data.encode()) <= MAX_BYTES
        assert decode(data) is not None


@pytest.mark.parametrize(
    "fields",
    [
        (Action.RATE, 1, 0, 4),
        (Action.RATE, 1, 0),
        (Action.GROUP_REVEAL, -1),
        (Action.OPEN, "c 14"),
        (Action.UNSUSPEND, "a" * 63),
        (Action.SETTINGS, "later"),
        (Action.NOOP, "y"),
    ],
)
def test_encode_refuses_a_button_the_bot_would_refuse(fields: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError, match="not the fields"):
        encode(*fields)


def test_keyboards_carry_the_data_of_their_actions() -> None:
    def data(markup: Any) -> list[list[str]]:
        return [[b.callback_data for b in row] for row in markup.inline_keyboard]

    assert data(keyboards.question_keyboard(12, 3)) == [["a:12:3", "k:12:3", "s:12:3"]]
    assert data(keyboards.rating_keyboard(Action.RATE, 12, 3)) == [
        ["r:12:3:1", "r:12:3:2", "r:12:3:3"]
    ]
    assert data(keyboards.rating_keyboard(Action.GROUP_RATE, 7)) == [
        ["g:7:0:1", "g:7:0:2", "g:7:0:3"]
    ]
    assert data(keyboards.rating_keyboard(Action.CHANGE_TO, 45)) == [
        ["x:45:0:1", "x:45:0:2", "x:45:0:3"]
    ]
    assert data(keyboards.change_keyboard(45, "✓ 2 · Partial")) == [["n", "c:45:0"]]
    assert data(keyboards.done_keyboard("Skipped")) == [["n"]]
    assert data(keyboards.reveal_keyboard(7)) == [["p:7:0"]]
    assert data(keyboards.reset_keyboard()) == [["z:y", "z:n"]]
    assert data(keyboards.forget_keyboard()) == [["f:y", "f:n"]]
    chat = ChatSettings(1, "private", "", True, True, "08:00", "Asia/Tokyo", 10, 3)
    assert data(keyboards.settings_keyboard(chat, personal=True)) == [
        ["t:off"],
        ["t:h-", "t:h+"],
        ["t:s-", "t:s+"],
        ["t:z:Asia/Tokyo", "t:z:UTC", "t:z:Europe/London", "t:z:Europe/Berlin"],
        ["t:z?"],
        ["t:q1"],
        ["t:e?"],
    ]
    group = replace(chat, type="group", subscribed=False, quiet="22:00-07:00")
    assert data(keyboards.settings_keyboard(group))[0] == ["t:on"]
    assert data(keyboards.settings_keyboard(group))[-1] == ["t:q0"]
    assert data(keyboards.zone_choice_keyboard(("Asia/Kolkata", "Europe/Dublin"), "08:00")) == [
        ["t:z:Asia/Kolkata@08:00", "t:z:Europe/Dublin@08:00"]
    ]


# ------------------------------------------------------------------------------ routing

ROUTES: dict[str | None, Callable[..., Any]] = {
    "a:12:3": study.reveal_button,
    "r:12:3:2": study.rate_button,
    "k:12:3": study.skip_button,
    "s:12:3": learner.suspend_button,
    "p:7:0": groups.group_reveal_button,
    "g:7:0:3": groups.group_rate_button,
    "c:45:0": learner.change_button,
    "x:45:0:2": learner.change_to_button,
    "n": basic.noop_button,
    "z:y": basic.reset_button,
    "t:h+": settings.settings_button,
    "o:c014": find.open_button,
    "f:n": account.forget_button,
    "u:c014": learner.unsuspend_button,
    "d:transformers": learner.drill_button,
    **dict.fromkeys(REFUSED, basic.unknown_button),
}


@pytest.mark.parametrize("data", list(ROUTES), ids=repr)
def test_each_press_reaches_its_own_handler(data: str | None) -> None:
    app = ApplicationBuilder().token("123:TEST").updater(None).build()
    register(app)
    press = Update(1, callback_query=CallbackQuery("q", User(1, "Ann", False), "ci", data=data))
    chosen = next(
        h for h in app.handlers[0] if isinstance(h, CallbackQueryHandler) and h.check_update(press)
    )
    assert chosen.callback is ROUTES[data]

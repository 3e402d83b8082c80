"""What people type for push times, zones, quiet hours, interview dates and drill categories,
and when the next push really comes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, available_timezones

import pytest

from bot.core import schedule
from bot.core.content import CATEGORIES
from bot.core.inputs import category_label, parse_category, parse_exam_date
from bot.core.schedule import (
    ABBREVIATIONS,
    AmbiguousZone,
    ChatSettings,
    next_push,
    parse_quiet,
    parse_time,
    parse_zone,
    split_time,
    utc_offset,
    when,
    zone,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("typed", "clock"),
    [
        ("8am", "08:00"),
        ("8 am", "08:00"),
        ("8 a.m.", "08:00"),
        ("8:30 pm", "20:30"),
        ("8.30PM", "20:30"),
        ("12am", "00:00"),
        ("12pm", "12:00"),
        ("20:15", "20:15"),
        ("08:30", "08:30"),
        ("20h", "20:00"),
        ("20h15", "20:15"),
        ("7", "07:00"),
    ],
)
def test_times_as_people_write_them(typed: str, clock: str) -> None:
    assert parse_time(typed) == clock


@pytest.mark.parametrize(
    "typed", ["25:00", "24:00", "7:5", "13pm", "0am", "8 o'clock", "noon", "", "8:30:00", "-1"]
)
def test_what_is_not_a_time_is_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        parse_time(typed)


def test_a_time_then_a_zone() -> None:
    assert split_time("8:30 pm new york") == ("20:30", "new york")
    assert split_time("8 amsterdam") == ("08:00", "amsterdam")  # "am" only as a word
    assert split_time("20h +05:30") == ("20:00", "+05:30")
    with pytest.raises(ValueError):
        split_time("berlin 8am")


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("EUROPE/BERLIN", "Europe/Berlin"),
        ("berlin", "Europe/Berlin"),
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("sao paulo", "America/Sao_Paulo"),
        ("São Paulo", "America/Sao_Paulo"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("calcutta", "Asia/Kolkata"),  # an old name: the zone it is now
        ("US/Eastern", "America/New_York"),
        ("kiev", "Europe/Kyiv"),
        ("CET", "Europe/Berlin"),
        ("cet", "Europe/Berlin"),
        ("JST", "Asia/Tokyo"),
        ("PST", "America/Los_Angeles"),
        ("UTC", "UTC"),
        ("gmt", "UTC"),
        ("+05:30", "UTC+05:30"),
        ("UTC+5:30", "UTC+05:30"),
        ("GMT-3", "UTC-03:00"),
        ("+0545", "UTC+05:45"),
    ],
)
def test_zones_by_name_city_abbreviation_or_offset(typed: str, name: str) -> None:
    assert parse_zone(typed) == name
    zone(name)  # and it is one


def test_each_city_names_one_zone() -> None:
    """A city is looked up by the last part of a zone's name: two zones sharing it (once old
    aliases are read as the zones they now are) would make the answer depend on luck."""
    cities: dict[str, set[str]] = {}
    for name in available_timezones():
        if name.startswith(schedule._REGIONS):
            city = schedule._plain(name.rsplit("/", 1)[1])
            cities.setdefault(city, set()).add(schedule._links().get(name, name))
    assert {c: z for c, z in cities.items() if len(z) > 1} == {}


def test_an_ambiguous_abbreviation_asks() -> None:
    with pytest.raises(AmbiguousZone) as raised:
        parse_zone("IST")
    assert raised.value.choices == ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem")


@pytest.mark.parametrize("typed", ["nowhere", "Mars/Olympus", "eastern", "+15:00", "+05:75", ""])
def test_unknown_zones_are_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        parse_zone(typed)


@pytest.mark.parametrize("abbreviation", sorted(ABBREVIATIONS))
def test_each_abbreviation_is_what_its_zones_call_themselves(abbreviation: str) -> None:
    """The table is ours: each zone in it must use the abbreviation at some time of the year
    (or tzdata gives that zone only a number, "+03", and the letters are the people's)."""
    for name in ABBREVIATIONS[abbreviation]:
        names = {
            ZoneInfo(name).tzname(datetime(2027, month, 15, 12, tzinfo=UTC)) for month in (1, 7)
        }
        assert abbreviation in names or all(n and n[0] in "+-" for n in names), (name, names)


def test_offsets_as_shown() -> None:
    summer, winter = datetime(2027, 7, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    assert utc_offset("Europe/Berlin", summer) == "UTC+02:00"
    assert utc_offset("Europe/Berlin", winter) == "UTC+01:00"
    assert utc_offset("America/St_Johns", winter) == "UTC-03:30"
    assert utc_offset("UTC", winter) == "UTC"


@pytest.mark.parametrize(
    ("typed", "window"),
    [
        ("22:00-07:00", "22:00-07:00"),
        ("10pm-7am", "22:00-07:00"),
        ("10 pm - 7 am", "22:00-07:00"),
        ("22h to 7h", "22:00-07:00"),
        ("23:30–06:15", "23:30-06:15"),
    ],
)
def test_quiet_hours(typed: str, window: str) -> None:
    assert parse_quiet(typed) == window


@pytest.mark.parametrize("typed", ["22:00", "22:00-22:00", "late-early", "22-7-8"])
def test_bad_quiet_hours_are_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        parse_quiet(typed)


# Monday 7 December 2026, 23:30 UTC: already Tuesday in Tokyo.
LATE = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "tz", "day"),
    [
        ("2027-01-20", UTC, date(2027, 1, 20)),
        ("20 Jan", UTC, date(2027, 1, 20)),  # no year: the next 20 January
        ("jan 20", UTC, date(2027, 1, 20)),
        ("5 dec", UTC, date(2027, 12, 5)),  # this year's is past: next year's
        ("03/02/2027", UTC, date(2027, 2, 3)),  # day first
        ("in 3 weeks", UTC, date(2026, 12, 28)),
        ("in 3 weeks", ZoneInfo("Asia/Tokyo"), date(2026, 12, 29)),
        ("next friday", UTC, date(2026, 12, 11)),
        ("today", UTC, date(2026, 12, 7)),
        ("today", ZoneInfo("Asia/Tokyo"), date(2026, 12, 8)),
        ("tomorrow", UTC, date(2026, 12, 8)),
    ],
)
def test_interview_dates_in_the_learners_zone(typed: str, tz: ZoneInfo, day: date) -> None:
    assert parse_exam_date(typed, LATE, tz) == day


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("yesterday", "Sunday 6 December 2026 is in the past"),
        ("20 Jan 2026", "Tuesday 20 January 2026 is in the past"),
        ("3 weeks ago", "is in the past"),
        ("banana", "I can't read “banana” as a date"),
        ("2027-02-30", "as a date"),
    ],
)
def test_past_or_unreadable_dates_are_refused(typed: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_exam_date(typed, LATE, UTC)


@pytest.mark.parametrize(
    ("typed", "category"),
    [
        ("LLM architecture", "llm_architecture"),
        ("llm-architecture", "llm_architecture"),
        ("llm", "llm_architecture"),
        ("rlhf", "rlhf"),
        ("RLHF", "rlhf"),
        ("transformer", "transformers"),
        ("Transformers", "transformers"),
        ("eval", "evaluation"),
        ("trnsformers", "transformers"),  # a close misspelling
    ],
)
def test_drill_categories_by_their_words(typed: str, category: str) -> None:
    assert parse_category(typed, CATEGORIES) == category


def test_unknown_or_ambiguous_categories_say_so() -> None:
    with pytest.raises(ValueError, match="There is no category “cooking”"):
        parse_category("cooking", CATEGORIES)
    with pytest.raises(ValueError, match="That may be training or transformers"):
        parse_category("tr", ["training", "transformers"])
    assert category_label("llm_architecture") == "LLM architecture"


def _chat(**changes: object) -> ChatSettings:
    fields: dict[str, object] = {
        "chat_id": 1,
        "type": "private",
        "title": "",
        "active": True,
        "subscribed": True,
        "push_time": "08:00",
        "timezone": "Europe/Berlin",
        "daily_size": 10,
        "group_items": 3,
    }
    return ChatSettings(**(fields | changes))  # type: ignore[arg-type]


def test_the_next_push_is_the_next_one_that_will_really_go_out() -> None:
    morning = datetime(2027, 1, 12, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    assert next_push(_chat(), morning) == datetime(2027, 1, 12, 8, 0, tzinfo=BERLIN)
    # Pushed already today: one a day, so tomorrow's.
    assert next_push(_chat(), morning, pushed_today=True) == datetime(
        2027, 1, 13, 8, 0, tzinfo=BERLIN
    )
    later = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
    assert next_push(_chat(), later) == datetime(2027, 1, 13, 8, 0, tzinfo=BERLIN)
    # Inside the quiet hours: at their end.
    quiet = _chat(push_time="23:00", quiet="22:00-07:30")
    assert next_push(quiet, later) == datetime(2027, 1, 13, 7, 30, tzinfo=BERLIN)
    assert next_push(_chat(subscribed=False), later) is None
    assert next_push(_chat(active=False), later) is None


def test_when_reads_like_a_person_says_it() -> None:
    now = datetime(2027, 1, 12, 6, 0, tzinfo=UTC)
    assert when(datetime(2027, 1, 12, 8, tzinfo=BERLIN), now, BERLIN) == "today 08:00"
    assert when(datetime(2027, 1, 13, 8, tzinfo=BERLIN), now, BERLIN) == "tomorrow 08:00"
    assert when(datetime(2027, 1, 15, 8, tzinfo=BERLIN), now, BERLIN) == "Fri 15 Jan 08:00"

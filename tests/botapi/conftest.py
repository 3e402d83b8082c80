"""Fixtures and helpers of the stand-in's own tests: a PTB client and raw HTTP against it.

The ``api`` fixture here is the stand-in alone, so these tests need nothing of the bot.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from tests.botapi import BotApiStandIn

JSON = dict[str, Any]
# The header of a 1600x900 PNG: all the stand-in reads of an image.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    + (1600).to_bytes(4, "big")
    + (900).to_bytes(4, "big")
    + b"\x08\x02\x00\x00\x00"
)


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback_data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    """A stand-in for this test (as tests/harness.py's, without importing the bot)."""
    async with BotApiStandIn() as standin:
        yield standin


@pytest.fixture
async def bot(api: BotApiStandIn) -> AsyncIterator[Bot]:
    """A python-telegram-bot client of the stand-in (not the bot of tests/harness.py)."""
    async with Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    """A plain HTTP client, for requests PTB would not send."""
    async with ClientSession() as session:
        yield session


async def call(
    http: ClientSession, api: BotApiStandIn, method: str, **params: Any
) -> tuple[int, JSON]:
    """POST form-encoded like PTB does: strings as-is, everything else JSON-encoded."""
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    async with http.post(f"{api.base_url}{api.token}/{method}", data=form) as response:
        return response.status, await response.json()

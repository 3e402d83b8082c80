"""PostgreSQL for the tests: the server STUDYBOT_TEST_POSTGRES_URL names, or a throwaway one.

Without the variable, a server is started on first use from the installed binaries (``initdb``,
``pg_ctl``; as the ``postgres`` user when running as root) in a temporary folder on a free port,
and stopped at the end of the session. Without either, PostgreSQL tests are skipped with the
reason. Every test gets a database of its own, dropped afterwards.

``.ci/run`` starts one server for the whole run with the same code:
``python -m tests.pg start DIR`` prints its URL, ``python -m tests.pg stop DIR`` ends it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

ENV_URL = "STUDYBOT_TEST_POSTGRES_URL"
SUPERUSER = "postgres"
PREFIX = "studybot-pg-"  # the temporary folders of throwaway servers
# A throwaway server need not survive a crash: skipping the disk flushes makes it fast.
FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
INITDB = ("-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")


class Unavailable(RuntimeError):
    """No PostgreSQL server could be started; the message says why."""


def bin_dir() -> Path | None:
    """The folder of ``initdb``/``pg_ctl``: on the PATH, else Debian's newest version."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def describe() -> str:
    """Which PostgreSQL the tests use, for the report header."""
    url = os.environ.get(ENV_URL)
    if url:
        return f"{make_url(url).render_as_string(hide_password=True)} (from {ENV_URL})"
    found = bin_dir()
    if found:
        return f"a throwaway server from {found}, started when a test needs it"
    return f"not available ({ENV_URL} unset, initdb not installed): PostgreSQL tests skip"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_user() -> pwd.struct_passwd | None:
    """The user to run the server as: ``postgres`` when we are root (it refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise Unavailable(f"running as root and there is no {SUPERUSER} user") from None


def _run(program: Path, *args: str, cwd: Path) -> None:
    user = _server_user()
    kwargs: dict[str, Any] = {}
    if user is not None:
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    done = subprocess.run(
        [str(program), *args], cwd=cwd, capture_output=True, text=True, check=False, **kwargs
    )
    if done.returncode:
        raise Unavailable(f"{program.name} failed: {(done.stderr or done.stdout)[-800:]}")


def start_server(root: Path, binaries: Path) -> str:
    """Create a cluster in ``root`` and start it on a free loopback port; return its URL."""
    user = _server_user()
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    data, log, port = str(root / "data"), root / "server.log", _free_port()
    _run(binaries / "initdb", "-D", data, *INITDB, cwd=root)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {FAST}"
    try:
        _run(
            binaries / "pg_ctl", "start", "-w", "-D", data, "-l", str(log), "-o", options, cwd=root
        )
    except Unavailable as exc:
        tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
        raise Unavailable(f"{exc} {tail}") from None
    return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/postgres"


def stop_server(root: Path, binaries: Path) -> None:
    """Stop the server started in ``root`` (no shutdown checkpoint: it is thrown away)."""
    data = root / "data"
    try:
        if (data / "postmaster.pid").exists():
            _run(binaries / "pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(data), cwd=root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _stop_orphans(binaries: Path) -> None:
    """Stop the servers of earlier test runs that were killed before they could stop them."""
    for root in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            os.kill(int((root / "owner").read_text()), 0)
        except ProcessLookupError:  # the run that started it is gone
            stop_server(root, binaries)
        except (OSError, ValueError):  # still starting, or another user's
            continue


class Databases:
    """Creates a fresh database per test on one server, through its maintenance database."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def version(self) -> str:
        with self.admin.connect() as conn:
            return str(conn.scalar(text("SHOW server_version")))

    @contextmanager
    def fresh(self) -> Iterator[str]:
        """A new empty database's URL; the database is dropped afterwards."""
        name = f"studybot_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield self.url.set(database=name).render_as_string(hide_password=False)
        finally:
            with self.admin.connect() as conn:  # FORCE: a test may leave connections open
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def databases() -> Iterator[Databases]:
    """The tests' server for a whole session; skips when there is none."""
    url = os.environ.get(ENV_URL)
    root: Path | None = None
    binaries = bin_dir()
    if not url:
        if binaries is None:
            pytest.skip(f"PostgreSQL not available: {ENV_URL} is unset and initdb is not installed")
        _stop_orphans(binaries)
        root = Path(tempfile.mkdtemp(prefix=PREFIX))
        (root / "owner").write_text(str(os.getpid()))
        try:
            url = start_server(root, binaries)
        except Unavailable as exc:
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip(f"PostgreSQL not available: {exc}")
    dbs = Databases(url)
    try:
        try:
            dbs.version()
        except SQLAlchemyError as exc:  # a server named by the variable must work: fail
            raise RuntimeError(f"cannot reach the PostgreSQL server at {url}: {exc}") from exc
        yield dbs
    finally:
        dbs.admin.dispose()
        if root is not None and binaries is not None:
            stop_server(root, binaries)


def main(argv: list[str]) -> int:
    """``start DIR`` prints the URL of a new server in DIR; ``stop DIR`` stops and removes it."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m tests.pg start|stop DIR", file=sys.stderr)
        return 2
    binaries = bin_dir()
    if binaries is None:
        print("PostgreSQL is not installed (no initdb)", file=sys.stderr)
        return 1
    root = Path(argv[1])
    try:
        if argv[0] == "start":
            url = start_server(root, binaries)
            version = Databases(url).version()
            print(f"started PostgreSQL {version} from {binaries} in {root}", file=sys.stderr)
            print(url)
        else:
            stop_server(root, binaries)
    except Unavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

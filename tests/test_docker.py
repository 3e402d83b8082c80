"""The Dockerfile without Docker: what it copies exists and reaches the build, and the image's
build and commands are replayed outside a container.

hadolint checks the Dockerfile itself in CI (.ci/run). No Docker engine runs where the tests
run, so these tests read the few instructions they need with regular expressions, apply
.dockerignore, build the wheel from exactly what the builder stage copies (a few seconds), and
run the image's commands from that wheel with the image's environment.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
import yaml
from sqlalchemy.engine import make_url

from bot.cli import build_parser, cmd_bot

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))

# The Dockerfile without comments, continuation lines joined, split into its two stages.
_TEXT = re.sub(r"^\s*#.*\n", "", (REPO / "Dockerfile").read_text(encoding="utf-8"), flags=re.M)
_TEXT = re.sub(r"\\\n\s*", " ", _TEXT)
FROMS = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", _TEXT, re.M)
BUILDER, RUNTIME = re.split(r"^FROM .*\n", _TEXT, flags=re.M)[1:]


def instruction(stage: str, keyword: str) -> list[str]:
    """The arguments of every ``keyword`` instruction of the stage, in order."""
    return re.findall(rf"^{keyword} (.+)$", stage, re.M)


def run_commands(stage: str) -> list[list[str]]:
    """The stage's RUN commands, split at ``&&``, as words."""
    return [shlex.split(cmd) for args in instruction(stage, "RUN") for cmd in args.split("&&")]


def option(words: list[str], name: str) -> str | None:
    """The value after ``name`` in a command's words."""
    return words[words.index(name) + 1] if name in words[:-1] else None


def image_env(stage: str) -> dict[str, str]:
    pairs = [word.split("=", 1) for args in instruction(stage, "ENV") for word in shlex.split(args)]
    return dict(pairs)


def command() -> list[str]:
    """ENTRYPOINT + CMD as the container runs them (exec form: hadolint's DL3025)."""
    words: list[str] = []
    for keyword in ("ENTRYPOINT", "CMD"):
        words += json.loads(instruction(RUNTIME, keyword)[-1])
    return words


@dataclass
class Copy:
    origin: str | None  # COPY --from=<stage>
    sources: list[str]
    dest: PurePosixPath  # absolute in the image
    into_dir: bool  # files land inside dest


def copies(stage: str) -> list[Copy]:
    """The stage's COPY instructions, destinations resolved against WORKDIR."""
    workdir, found = PurePosixPath("/"), []
    for keyword, args in re.findall(r"^(WORKDIR|COPY) (.+)$", stage, re.M):
        if keyword == "WORKDIR":
            workdir /= args
            continue
        origin = re.match(r"--from=(\S+) ", args)
        *sources, dest = args[origin.end() if origin else 0 :].split()
        into_dir = dest.endswith("/") or dest == "." or len(sources) > 1
        found.append(Copy(origin[1] if origin else None, sources, workdir / dest, into_dir))
    return found


def workdir(stage: str) -> PurePosixPath:
    return PurePosixPath("/").joinpath(*instruction(stage, "WORKDIR"))


def content_copy() -> Copy:
    [found] = [c for c in copies(RUNTIME) if c.origin is None and c.sources == ["content"]]
    return found


# ------------------------------------------------------------- the .dockerignore rules

Rules = list[tuple[bool, re.Pattern[str]]]


def _glob_to_regex(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out.append(pattern[i : end + 1])
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


@pytest.fixture(scope="module")
def rules() -> Rules:
    found = []
    for raw in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip().strip("/")).replace(os.sep, "/")
        found.append((negate, re.compile(_glob_to_regex(pattern))))
    return found


def ignored(path: str, rules: Rules) -> bool:
    """Docker's rule: a path is out when it or a folder above it matches; the last rule wins."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    out = False
    for negate, rule in rules:
        if any(rule.fullmatch(p) for p in prefixes):
            out = not negate
    return out


def context_files(source: str, rules: Rules) -> list[str]:
    """The files of a COPY source that reach the build context (repo-relative posix paths)."""
    path = REPO / source
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    rel = [p.relative_to(REPO).as_posix() for p in files]
    return [r for r in rel if not ignored(r, rules)]


# ------------------------------------------------------------------- static checks


def test_copy_sources_reach_the_build_context(rules: Rules) -> None:
    for stage in (BUILDER, RUNTIME):
        for c in copies(stage):
            if c.origin is not None:
                continue
            for source in c.sources:
                assert not source.startswith(("/", "..")), f"COPY {source}: outside the context"
                assert (REPO / source).exists(), f"COPY {source}: no such path in the repository"
                assert not ignored(source, rules), f"COPY {source}: excluded by .dockerignore"
                assert context_files(source, rules), f"COPY {source}: every file is excluded"


def test_the_whole_package_reaches_the_builder(rules: Rules) -> None:
    sent = {
        f for c in copies(BUILDER) for source in c.sources for f in context_files(source, rules)
    }
    package = [p.relative_to(REPO).as_posix() for p in (REPO / "bot").rglob("*.py")]
    data = [f"bot/{name}" for name in PYPROJECT["tool"]["setuptools"]["package-data"]["bot"]]
    needed = sorted(set(package + data + ["pyproject.toml", PYPROJECT["project"]["readme"]]))
    missing = [f for f in needed if "__pycache__" not in f and f not in sent]
    assert not missing, f"the builder never receives {missing}"


def test_the_runtime_takes_what_the_builder_made() -> None:
    (builder_base, builder_name), (runtime_base, _) = FROMS
    # The virtualenv links to the builder's interpreter: it must be the runtime's as well.
    assert builder_base == runtime_base, f"builder {builder_base}, runtime {runtime_base}"
    made = {PurePosixPath(w) for cmd in run_commands(BUILDER) for w in cmd if w.startswith("/")}
    taken = [c for c in copies(RUNTIME) if c.origin is not None]
    assert taken, "the runtime stage copies nothing from the builder"
    for c in taken:
        assert c.origin == builder_name, f"COPY --from={c.origin}: not the builder stage"
        for source in c.sources:
            path = PurePosixPath(source)
            assert path in made or made & set(path.parents), f"{source}: no RUN there makes it"
    venv_bins = [str(c.dest / "bin") for c in taken]
    path = image_env(RUNTIME)["PATH"].split(":")
    assert path[0] in venv_bins, f"PATH={path}: the copied virtualenv's bin/ is not first"


def test_the_image_installs_the_postgres_extra() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    installs = [cmd for cmd in run_commands(BUILDER) if "pip" in cmd[0] and "install" in cmd]
    targets = [w for cmd in installs for w in cmd if w.startswith(".")]
    assert targets == [".[postgres]"], f"pip installs {targets}, not the project's postgres extra"
    assert "postgres" in extras
    assert not any("-e" in cmd for cmd in installs), "the image's install must not be editable"


def test_paths_of_the_runtime_environment() -> None:
    env = image_env(RUNTIME)
    content = content_copy().dest
    dirs = env["STUDYBOT_CONTENT_DIR"].split(":")
    assert dirs[0] == str(content), f"STUDYBOT_CONTENT_DIR={dirs} does not start with {content}"
    database = PurePosixPath(make_url(env["DATABASE_URL"]).database or "")
    volumes = [
        PurePosixPath(v) for args in instruction(RUNTIME, "VOLUME") for v in json.loads(args)
    ]
    assert any(v in database.parents for v in volumes), f"{database} is in no VOLUME {volumes}"
    # The volume starts with the image's ownership: the user the bot runs as must own it.
    [user] = instruction(RUNTIME, "USER")
    uid, _, gid = user.partition(":")
    commands = run_commands(RUNTIME)
    created = [c for c in commands if c[0] == "useradd" and option(c, "--uid") == uid]
    assert created, f"USER {user}: the runtime stage creates no user with uid {uid}"
    assert option(created[0], "--gid") == gid, f"USER {user}: not the user's group"
    owned = [c for c in commands if c[0] == "chown" and c[1] == user and str(database.parent) in c]
    assert owned, f"{database.parent} is not chowned to {user}: SQLite could not write there"


def test_dockerignore_keeps_local_state_out(rules: Rules) -> None:
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "data/studybot.db",
        "data",
        ".env",
        "bot/__pycache__/cli.cpython-311.pyc",
        "tests/__pycache__/conftest.cpython-311.pyc",
        ".pytest_cache/README.md",
        ".mypy_cache/3.11/bot/cli.meta.json",
        ".ruff_cache/CACHEDIR.TAG",
        "studybot.egg-info/PKG-INFO",
        "studybot.db",
    ):
        assert ignored(path, rules), f".dockerignore lets {path} into the build context"
    for path in ("pyproject.toml", "README.md", "bot/cli.py", "content/concepts/x.md"):
        assert not ignored(path, rules), f".dockerignore keeps {path} out of the build context"


def test_readme_documents_docker() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Docker\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, "README.md has no '## Docker' section"
    section = match[1]
    assert "docker build -t studybot ." in section
    runs = [
        " ".join(block.replace("\\\n", " ").split())
        for block in re.findall(r"^docker run .*?(?<!\\)$", section, re.M | re.S)
    ]
    with_token = [r for r in runs if "TELEGRAM_BOT_TOKEN" in r and ":/data" in r]
    assert with_token, "no `docker run` line with a token and a /data volume"
    baked = str(content_copy().dest)
    for value in re.findall(r"STUDYBOT_CONTENT_DIR=([^\s`]+)", section):
        assert value.split(":")[0] == baked, f"STUDYBOT_CONTENT_DIR={value} drops {baked}"
    blocks = re.findall(r"^```ya?ml\n(.*?)^```", section, re.M | re.S)
    assert blocks, "no compose example"
    compose = yaml.safe_load(blocks[0])
    db, bot = compose["services"]["db"], compose["services"]["bot"]
    assert str(db["image"]).startswith("postgres:16")
    assert db.get("volumes"), "the db service keeps its data in no volume"
    env = bot["environment"]
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    url = make_url(env["DATABASE_URL"])
    assert url.drivername == "postgresql+psycopg" and url.host == "db"
    assert "TELEGRAM_BOT_TOKEN" in env


# ---------------------------------------------------- the build, replayed without Docker


def materialize(stage: str, root: Path, rules: Rules) -> None:
    """Do the stage's COPYs from the build context into ``root`` (standing for the image's /)."""
    for c in copies(stage):
        if c.origin is not None:
            continue
        for source in c.sources:
            src = REPO / source
            dest = root / c.dest.relative_to("/")
            if src.is_dir():
                for rel in context_files(source, rules):
                    target = dest / Path(rel).relative_to(source)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(REPO / rel, target)
            else:
                target = dest / src.name if c.into_dir else dest
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target)


@dataclass
class Built:
    wheel: Path
    src: Path  # the builder's WORKDIR, with what the builder stage copied


@pytest.fixture(scope="module")
def built(rules: Rules, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The wheel pip builds from the builder stage's files, at the builder's WORKDIR."""
    root = tmp_path_factory.mktemp("builder")
    materialize(BUILDER, root, rules)
    out = tmp_path_factory.mktemp("wheel")
    src = root / workdir(BUILDER).relative_to("/")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(src), "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"the builder's pip cannot build the project:\n{result.stderr}"
    (wheel,) = out.glob("studybot-*.whl")
    return Built(wheel, src)


def test_wheel_has_the_package_and_the_console_script(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = zf.read(entry_points).decode()
    package = {p.relative_to(built.src).as_posix() for p in (built.src / "bot").rglob("*.py")}
    package |= {f"bot/{n}" for n in PYPROJECT["tool"]["setuptools"]["package-data"]["bot"]}
    missing = sorted(p for p in package if p not in names)
    assert not missing, f"the wheel lacks {missing}"
    for name, target in PYPROJECT["project"]["scripts"].items():
        assert f"{name} = {target}" in scripts


RUN_ENTRY_POINT = """
import importlib, sys
site, target = sys.argv.pop(1), sys.argv.pop(1)
import bot
assert bot.__file__.startswith(site), f"imported {bot.__file__}, not the wheel"
module, _, func = target.partition(":")
sys.exit(getattr(importlib.import_module(module), func)())
"""


def test_image_commands_run_from_the_wheel(built: Built, rules: Rules, tmp_path: Path) -> None:
    """The runtime stage's files, environment and commands, on the non-editable install."""
    words = command()
    assert words == ["studybot", "bot"], f"the container runs {words}, not studybot bot"
    assert build_parser().parse_args(words[1:]).func is cmd_bot

    root = tmp_path / "image"
    materialize(RUNTIME, root, rules)
    site = tmp_path / "site"
    with zipfile.ZipFile(built.wheel) as zf:
        zf.extractall(site)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STUDYBOT_", "TELEGRAM_", "DATABASE_URL", "PYTHON"))
    }
    for key, value in image_env(RUNTIME).items():
        if key == "STUDYBOT_CONTENT_DIR":
            value = ":".join(
                str(root / PurePosixPath(d).relative_to("/")) for d in value.split(":")
            )
        elif key == "DATABASE_URL":
            url = make_url(value)
            path = root / PurePosixPath(url.database or "").relative_to("/")
            path.parent.mkdir(parents=True, exist_ok=True)  # the volume
            value = url.set(database=str(path)).render_as_string(hide_password=False)
        elif key == "PATH":
            continue
        env[key] = value
    env |= {"PYTHONPATH": str(site), "HOME": str(home), "PTB_TIMEDELTA": "1"}
    target = PYPROJECT["project"]["scripts"]["studybot"]
    cwd = root / workdir(RUNTIME).relative_to("/")
    cwd.mkdir(parents=True, exist_ok=True)

    def studybot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", RUN_ENTRY_POINT, str(site), target, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    run = [cmd for cmd in run_commands(RUNTIME) if cmd[0] == "studybot"]
    assert ["studybot", "check-content"] in run, "the build should validate the baked-in items"
    for cmd in run:
        result = studybot(*cmd[1:])
        assert result.returncode == 0, f"RUN {shlex.join(cmd)}:\n{result.stderr}"
    result = studybot("stats")  # migrations shipped in the wheel, database in the volume
    assert result.returncode == 0, result.stderr
    assert Path(make_url(env["DATABASE_URL"]).database or "").is_file(), "no database created"
    # The container's command, without a token: it gets as far as asking for one.
    result = studybot(*words[1:])
    assert result.returncode == 2, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in result.stderr

"""The Dockerfile without Docker: its paths, stages, user, command and environment are checked
against the repository, and the image's build and commands are replayed outside a container.

No Docker engine runs where the tests run, so the checks parse the Dockerfile and .dockerignore:
every COPY source is in the build context, the install steps are CI's, the commands it runs are
studybot's. The one slower test (a few seconds) builds the wheel from exactly what the builder
stage copies and runs the image's commands from that wheel, with the image's environment.
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
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from sqlalchemy.engine import make_url

from bot.cli import build_parser, cmd_bot

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SLIM_PYTHON = re.compile(r"^(?:docker\.io/)?(?:library/)?python:(\d+)\.(\d+)(?:\.\d+)?-slim\b")


# ---------------------------------------------------------------- parsing the Dockerfile


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    base: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Split into stages of instructions; continuation lines joined, comments dropped."""
    stages: list[Stage] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments may also sit between continuation lines
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        keyword, _, args = " ".join(pending).partition(" ")
        pending = []
        keyword = keyword.upper()
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--")]  # --platform=...
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name, line=start))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, args.strip(), start))
    assert not pending, "the Dockerfile ends inside a continued line"
    return stages


def words_of(args: str) -> list[str]:
    """Exec form (JSON array) or shell form, as words."""
    if args.startswith("["):
        words = json.loads(args)
        assert isinstance(words, list) and all(isinstance(w, str) for w in words)
        return words
    return shlex.split(args)


def copy_parts(args: str) -> tuple[dict[str, str], list[str], str]:
    """COPY's flags (--from, --chown, ...), sources and destination."""
    words = shlex.split(args)
    flags: dict[str, str] = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    if words and words[0].startswith("["):
        words = json.loads(" ".join(words))
    assert len(words) >= 2, f"COPY needs a source and a destination: {args!r}"
    return flags, words[:-1], words[-1]


def env_pairs(args: str) -> dict[str, str]:
    words = shlex.split(args)
    if words and "=" not in words[0]:  # legacy `ENV KEY value with spaces`
        return {words[0]: " ".join(words[1:])}
    pairs = {}
    for word in words:
        key, sep, value = word.partition("=")
        assert sep, f"ENV word without '=': {word!r}"
        pairs[key] = value
    return pairs


def stage_env(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in stage.all("ENV"):
        env.update(env_pairs(ins.args))
    return env


def shell_commands(run_args: str) -> list[list[str]]:
    """A RUN line's commands (split at &&, ||, ;), each as words."""
    words = words_of(run_args)
    if run_args.startswith("["):
        return [words]
    commands: list[list[str]] = [[]]
    for word in words:
        if word in ("&&", "||", ";"):
            commands.append([])
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


@dataclass
class Copy:
    stage: Stage
    flags: dict[str, str]
    sources: list[str]
    dest: PurePosixPath  # absolute in the image
    dest_is_dir: bool


def copies(stage: Stage) -> list[Copy]:
    """The stage's COPY/ADD instructions, destinations resolved against WORKDIR."""
    workdir = PurePosixPath("/")
    result = []
    for ins in stage.instructions:
        if ins.keyword == "WORKDIR":
            workdir = workdir / ins.args
        elif ins.keyword in ("COPY", "ADD"):
            flags, sources, dest = copy_parts(ins.args)
            result.append(
                Copy(
                    stage,
                    flags,
                    sources,
                    workdir / dest,
                    dest.endswith("/") or dest in (".", "./") or len(sources) > 1,
                )
            )
    return result


def final_workdir(stage: Stage) -> PurePosixPath:
    workdir = PurePosixPath("/")
    for ins in stage.all("WORKDIR"):
        workdir = workdir / ins.args
    return workdir


# ------------------------------------------------------------- the .dockerignore rules


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


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        pattern = os.path.normpath(pattern).replace(os.sep, "/")
        rules.append((negate, re.compile(_glob_to_regex(pattern))))
    return rules


def ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: a path is out when it or a folder above it matches; the last rule wins."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    out = False
    for negate, rule in rules:
        if any(rule.fullmatch(p) for p in prefixes):
            out = not negate
    return out


def context_files(source: str, rules: list[tuple[bool, re.Pattern[str]]]) -> list[str]:
    """The files of a COPY source that reach the build context (repo-relative posix paths)."""
    path = REPO / source
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    rel = [p.relative_to(REPO).as_posix() for p in files]
    return [r for r in rel if not ignored(r, rules)]


# ------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


@pytest.fixture(scope="module")
def rules() -> list[tuple[bool, re.Pattern[str]]]:
    return dockerignore_rules()


def content_copy(final: Stage) -> Copy:
    found = [
        c
        for c in copies(final)
        if "from" not in c.flags and "content" in [s.rstrip("/") for s in c.sources]
    ]
    assert len(found) == 1, "the runtime stage should COPY the repo's content/ once"
    return found[0]


def runtime_user(final: Stage) -> str:
    users = final.all("USER")
    assert users, "the runtime stage sets no USER, so the bot would run as root"
    return users[-1].args.split(":")[0]


def volumes(final: Stage) -> list[PurePosixPath]:
    paths: list[PurePosixPath] = []
    for ins in final.all("VOLUME"):
        paths += [PurePosixPath(w) for w in words_of(ins.args)]
    return paths


def command(final: Stage) -> list[str]:
    """ENTRYPOINT + CMD as the container runs them; both must be exec form."""
    words: list[str] = []
    for keyword in ("ENTRYPOINT", "CMD"):
        found = final.all(keyword)
        if found:
            assert found[-1].args.startswith("["), (
                f"{keyword} in shell form: studybot would not be PID 1 and miss SIGTERM"
            )
            words += words_of(found[-1].args)
    return words


# ------------------------------------------------------------------- static checks


def test_multi_stage_build(stages: list[Stage], final: Stage) -> None:
    assert len(stages) >= 2, "expected a builder stage and a runtime stage"
    names = [s.name for s in stages[:-1]]
    from_stage = [c for c in copies(final) if "from" in c.flags]
    assert from_stage, "the runtime stage copies nothing from the builder"
    for c in from_stage:
        assert c.flags["from"] in names, f"COPY --from={c.flags['from']}: no such earlier stage"


def test_base_images_are_python_slim(stages: list[Stage]) -> None:
    requires = SpecifierSet(PYPROJECT["project"]["requires-python"])
    names = {s.name for s in stages if s.name}
    bases = [s.base for s in stages if s.base not in names]
    for base in bases:
        match = SLIM_PYTHON.match(base)
        assert match, f"base image {base!r} is not a python:X.Y-slim image"
        version = f"{match[1]}.{match[2]}"
        assert requires.contains(version), f"{base}: Python {version} vs requires-python {requires}"
    # The virtualenv is copied between stages: its interpreter links must resolve in the runtime.
    assert len(set(bases)) == 1, f"builder and runtime use different base images: {bases}"


def test_copy_sources_are_in_the_build_context(
    stages: list[Stage], rules: list[tuple[bool, re.Pattern[str]]]
) -> None:
    for stage in stages:
        for c in copies(stage):
            if "from" in c.flags:
                continue
            for source in c.sources:
                assert not source.startswith(("/", "..")), f"COPY {source}: outside the context"
                assert (REPO / source).exists(), f"COPY {source}: no such path in the repository"
                assert not ignored(source, rules), f"COPY {source}: excluded by .dockerignore"
                assert context_files(source, rules), f"COPY {source}: every file is excluded"


def test_the_whole_package_reaches_the_build(
    stages: list[Stage], rules: list[tuple[bool, re.Pattern[str]]]
) -> None:
    sent = {
        f
        for stage in stages
        for c in copies(stage)
        if "from" not in c.flags
        for source in c.sources
        for f in context_files(source, rules)
    }
    package = [p.relative_to(REPO).as_posix() for p in (REPO / "bot").rglob("*.py")]
    data = [f"bot/{name}" for name in PYPROJECT["tool"]["setuptools"]["package-data"]["bot"]]
    needed = sorted(set(package + data + ["pyproject.toml", PYPROJECT["project"]["readme"]]))
    missing = [f for f in needed if "__pycache__" not in f and f not in sent]
    assert not missing, f"the builder never receives {missing}"


def test_copy_from_builder_takes_what_the_builder_made(stages: list[Stage], final: Stage) -> None:
    by_name = {s.name: s for s in stages if s.name}
    for c in copies(final):
        if "from" not in c.flags:
            continue
        builder = by_name[c.flags["from"]]
        made = {
            PurePosixPath(word)
            for ins in builder.all("RUN")
            for cmd in shell_commands(ins.args)
            for word in cmd
            if word.startswith("/")
        }
        for source in c.sources:
            path = PurePosixPath(source)
            assert path in made or made & set(path.parents), (
                f"COPY --from={builder.name} {source}: no RUN there makes it"
            )


def test_runs_as_a_non_root_user(final: Stage) -> None:
    user = runtime_user(final)
    assert user not in ("root", "0"), "USER must not be root"
    if not user.isdigit():
        created = [
            cmd
            for ins in final.all("RUN")
            for cmd in shell_commands(ins.args)
            if cmd[0] in ("useradd", "adduser") and cmd[-1] == user
        ]
        assert created, f"USER {user}: the runtime stage never creates that user"


def test_command_is_studybot_bot(final: Stage) -> None:
    words = command(final)
    assert words == ["studybot", "bot"], f"the container runs {words}, not studybot bot"
    assert words[0] in PYPROJECT["project"]["scripts"], "no such console script in pyproject"
    args = build_parser().parse_args(words[1:])
    assert args.func is cmd_bot
    venvs = [c.dest for c in copies(final) if "from" in c.flags]
    path = stage_env(final).get("PATH", "").split(":")
    assert path[0] in [str(v / "bin") for v in venvs], f"PATH={path}: the venv's bin/ is not first"


def test_database_lives_in_the_data_volume(final: Stage) -> None:
    url = make_url(stage_env(final)["DATABASE_URL"])
    assert url.get_backend_name() == "sqlite"
    database = PurePosixPath(url.database or "")
    assert database.is_absolute(), f"{url}: a relative path would land in WORKDIR, not a volume"
    mounts = volumes(final)
    assert PurePosixPath("/data") in mounts, f"no VOLUME /data (volumes: {mounts})"
    volume = next((v for v in mounts if v in database.parents), None)
    assert volume == PurePosixPath("/data"), f"DATABASE_URL {url} is not under /data"
    # The volume starts with the image's ownership, so the bot's user must own the folder.
    user = runtime_user(final)
    owned = [
        cmd
        for ins in final.all("RUN")
        for cmd in shell_commands(ins.args)
        if cmd[0] == "chown" and str(volume) in cmd and any(w.split(":")[0] == user for w in cmd)
    ]
    assert owned, f"{volume} is not chowned to {user}: SQLite could not write there"


def test_content_dir_points_at_the_baked_in_content(final: Stage) -> None:
    baked = content_copy(final).dest
    dirs = stage_env(final)["STUDYBOT_CONTENT_DIR"].split(":")
    assert dirs[0] == str(baked), f"STUDYBOT_CONTENT_DIR={dirs} does not start with {baked}"
    for d in dirs:
        assert PurePosixPath(d).is_absolute(), f"{d}: relative to WORKDIR, use an absolute path"


def test_project_commands_the_dockerfile_runs_exist(stages: list[Stage], final: Stage) -> None:
    scripts = PYPROJECT["project"]["scripts"]
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "postgres" in extras, "pyproject has no postgres extra"
    installed_extras: set[str] = set()
    for stage in stages:
        for ins in stage.all("RUN"):
            for cmd in shell_commands(ins.args):
                name = PurePosixPath(cmd[0]).name
                if name in scripts:
                    try:
                        build_parser().parse_args(cmd[1:])
                    except SystemExit:
                        pytest.fail(f"RUN {shlex.join(cmd)}: studybot has no such command")
                if name == "pip" and "install" in cmd:
                    for target in cmd[cmd.index("install") + 1 :]:
                        match = re.fullmatch(r"\.\[([\w,-]+)\]", target)
                        if match:
                            assert "-e" not in cmd, "the image's install must not be editable"
                            for extra in match[1].split(","):
                                assert extra in extras, f"pip install .[{extra}]: no such extra"
                                installed_extras.add(extra)
    assert "postgres" in installed_extras, "the image does not install the postgres extra"
    checks = [c for i in final.all("RUN") for c in shell_commands(i.args) if c[0] in scripts]
    assert ["studybot", "check-content"] in checks, "the build should validate the baked items"


def ci_install_commands() -> list[list[str]]:
    """The virtualenv and pip commands of .ci/run, in order."""
    commands = []
    for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines():
        if "python3 -m venv" not in line and "/pip " not in line:
            continue
        words = shlex.split(line, comments=True)
        if words[:3] == ["python3", "-m", "venv"] or (
            words and words[0].endswith("/pip") and "install" in words
        ):
            commands.append(words)
    return commands


def test_install_steps_are_the_ones_ci_runs(stages: list[Stage]) -> None:
    """CI's commands with the image's venv path, non-editable and with the postgres extra."""
    ci = ci_install_commands()
    assert ci, ".ci/run has no install commands"
    image = [
        cmd
        for ins in stages[0].all("RUN")
        for cmd in shell_commands(ins.args)
        if cmd[:3] == ["python3", "-m", "venv"] or PurePosixPath(cmd[0]).name == "pip"
    ]
    venv = image[0][3] if image and image[0][:3] == ["python3", "-m", "venv"] else "?"
    expected = []
    for words in ci:
        mapped = [venv if w == ".venv" else w.replace(".venv/", f"{venv}/", 1) for w in words]
        mapped = [w for w in mapped if w != "-e"]
        expected.append([".[postgres]" if w == ".[test]" else w for w in mapped])
    assert image == expected, f"the builder's install differs from CI's:\n{image}\n{expected}"


def test_dockerignore_keeps_local_state_out(rules: list[tuple[bool, re.Pattern[str]]]) -> None:
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


def test_readme_documents_docker(final: Stage) -> None:
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
    baked = str(content_copy(final).dest)
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


def materialize(stage: Stage, root: Path, rules: list[tuple[bool, re.Pattern[str]]]) -> None:
    """Do the stage's context COPYs into ``root`` (standing for the image's /)."""
    for c in copies(stage):
        if "from" in c.flags:
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
                target = dest / src.name if c.dest_is_dir else dest
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target)


@dataclass
class Built:
    wheel: Path
    src: Path  # the builder's WORKDIR, with what the builder stage copied


@pytest.fixture(scope="module")
def built(
    stages: list[Stage],
    rules: list[tuple[bool, re.Pattern[str]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Built:
    """The wheel pip builds from the builder stage's files, at the builder's WORKDIR."""
    root = tmp_path_factory.mktemp("builder")
    materialize(stages[0], root, rules)
    out = tmp_path_factory.mktemp("wheel")
    src = root / final_workdir(stages[0]).relative_to("/")
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


def test_image_commands_run_from_the_wheel(
    built: Built,
    final: Stage,
    rules: list[tuple[bool, re.Pattern[str]]],
    tmp_path: Path,
) -> None:
    """The runtime stage's files, environment and commands, on the non-editable install."""
    root = tmp_path / "image"
    materialize(final, root, rules)
    site = tmp_path / "site"
    with zipfile.ZipFile(built.wheel) as zf:
        zf.extractall(site)
    for volume in volumes(final):
        (root / volume.relative_to("/")).mkdir(parents=True, exist_ok=True)
    home = tmp_path / "home"
    home.mkdir()

    image_env = stage_env(final)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STUDYBOT_", "TELEGRAM_", "DATABASE_URL", "PYTHON"))
    }
    for key, value in image_env.items():
        if key == "PATH":
            continue
        if key == "STUDYBOT_CONTENT_DIR":
            value = ":".join(
                str(root / PurePosixPath(d).relative_to("/")) for d in value.split(":")
            )
        if key == "DATABASE_URL":
            url = make_url(value)
            path = root / PurePosixPath(url.database or "").relative_to("/")
            value = url.set(database=str(path)).render_as_string(hide_password=False)
        env[key] = value
    env |= {"PYTHONPATH": str(site), "HOME": str(home), "PTB_TIMEDELTA": "1"}
    target = PYPROJECT["project"]["scripts"]["studybot"]
    workdir = root / final_workdir(final).relative_to("/")
    workdir.mkdir(parents=True, exist_ok=True)

    def studybot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", RUN_ENTRY_POINT, str(site), target, *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    for ins in final.all("RUN"):
        for cmd in shell_commands(ins.args):
            if cmd[0] == "studybot":
                result = studybot(*cmd[1:])
                assert result.returncode == 0, f"RUN {shlex.join(cmd)}:\n{result.stderr}"
    result = studybot("stats")  # migrations shipped in the wheel, database in the volume
    assert result.returncode == 0, result.stderr
    database = make_url(env["DATABASE_URL"]).database or ""
    assert Path(database).is_file(), "the database was not created in the /data volume"
    # The container's command, without a token: it gets as far as asking for one.
    result = studybot(*command(final)[1:])
    assert result.returncode == 2, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in result.stderr

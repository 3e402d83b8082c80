# syntax=docker/dockerfile:1
# studybot as a container: `docker build -t studybot .`, then see "Docker" in README.md.
# hadolint checks it in CI (.ci/run); tests/test_docker.py checks that what it copies exists and
# reaches the build, builds the wheel from exactly what the builder stage copies, and runs the
# image's commands against it.

# ---- builder: install the project and its dependencies into a self-contained virtualenv ----
FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# Only what the build needs: pyproject.toml (metadata, dependencies, entry point), README.md
# (the package's readme) and the package itself.
COPY pyproject.toml README.md ./
COPY bot ./bot
# The same install steps as CI (.ci/run: `python3 -m venv .venv`, `pip install --upgrade pip`,
# `pip install -e '.[test]'`) from the same pyproject.toml, with two deliberate differences:
# - non-editable (`.` instead of `-e .`): pip builds a wheel and installs it, so the virtualenv
#   holds the whole package and can be copied into the runtime stage without the source tree;
# - the `postgres` extra instead of `test`: psycopg for DATABASE_URL=postgresql+psycopg://...,
#   and no test tools in the image.
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install -q --upgrade pip \
    && /opt/venv/bin/pip install -q '.[postgres]'

# ---- runtime: the same base image (the venv links to its interpreter), no build leftovers ----
FROM python:3.11-slim AS runtime
# An unprivileged user that owns only /data (the database); the code and items are read-only.
# uid and gid are fixed (10001:10001) so that USER can name them as numbers, which a host or
# an orchestrator can check without the image's /etc/passwd (hadolint DL3066).
RUN groupadd --system --gid 10001 studybot \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/studybot \
        --shell /usr/sbin/nologin studybot \
    && mkdir -p /data \
    && chown 10001:10001 /data
COPY --from=builder /opt/venv /opt/venv
# The items are baked in. A folder of your own can be mounted and added to the path, e.g.
# `-v ~/my-items:/items:ro -e STUDYBOT_CONTENT_DIR=/app/content:/items` (':'-separated).
COPY content /app/content
# Configuration is by environment (README, "Configuration"): TELEGRAM_BOT_TOKEN at `docker run`,
# DATABASE_URL to switch to PostgreSQL (postgresql+psycopg://user:password@host/db).
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/studybot.db \
    STUDYBOT_CONTENT_DIR=/app/content
WORKDIR /app
# Fail the build if the installed package cannot load the baked-in items.
RUN studybot check-content
USER 10001:10001
VOLUME ["/data"]
# `docker run IMAGE` runs the bot; `docker run -it IMAGE study -n 10` (or stats, reset,
# check-content) runs another studybot command on the same database.
ENTRYPOINT ["studybot"]
CMD ["bot"]

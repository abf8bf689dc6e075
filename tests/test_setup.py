"""The ways people start, test, deploy and check the project keep working.

Covers the Makefile, README, CI script, Docker files and docs/operations.md, plus the two
configurations they rely on: the embedded default boots, production settings pass --deploy.
"""

from __future__ import annotations

import fnmatch
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from rma_portal.testing import backends

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "rma_portal" / "settings.py"
FENCED_BLOCK = re.compile(r"^```[\w-]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def settings_variables() -> set[str]:
    """Names of the environment variables rma_portal/settings.py reads."""
    text = SETTINGS.read_text()
    return set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", text))


def environment_without_settings() -> dict[str, str]:
    """This process's environment minus every variable the settings read.

    The test plugin (and a developer's shell) set some of them; a subprocess started with
    this environment sees the project's own defaults.
    """
    names = settings_variables()
    return {key: value for key, value in os.environ.items() if key not in names}


def manage(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def readme_command_blocks() -> tuple[str, list[re.Match]]:
    text = (ROOT / "README.md").read_text()
    return text, list(FENCED_BLOCK.finditer(text))


def makefile_recipe(target: str) -> list[str]:
    """The recipe lines of a Makefile target, with $(VARIABLE) references expanded."""
    text = (ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"^([A-Za-z_]+)\s*[:?]?=[ \t]*(.*)$", text, re.MULTILINE))
    recipe: list[str] = []
    lines = iter(text.splitlines())
    for line in lines:
        if re.match(rf"^{re.escape(target)}\s*:(?!=)", line):
            for recipe_line in lines:
                if not recipe_line.startswith("\t"):
                    break
                recipe.append(recipe_line.strip())
            break
    expanded = []
    for line in recipe:
        previous = None
        while previous != line:
            previous = line
            line = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), line)
        expanded.append(line)
    return expanded


def unsets(command: str, name: str) -> bool:
    """Whether a shell command line removes `name` from the environment of what it runs."""
    return bool(
        re.search(rf"\benv\b[^;&|]*\s-u\s*{name}\b", command)
        or re.search(rf"\bunset\b[^;&|]*\b{name}\b", command)
    )


# --- docker-compose.yml ------------------------------------------------------------------


def compose_command(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def compose_environment(service: dict) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {key: str(value) for key, value in environment.items()}


def test_compose_file_runs_the_whole_stack():
    # given
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    # then
    assert {"web", "worker", "beat", "db", "redis", "mail"} <= set(services)
    web = compose_command(services["web"])
    assert "gunicorn rma_portal.wsgi" in web
    assert "migrate" in web
    assert web.index("migrate") < web.index("gunicorn")
    assert re.search(r"\bcelery\b.*\bworker\b", compose_command(services["worker"]))
    assert re.search(r"\bcelery\b.*\bbeat\b", compose_command(services["beat"]))
    for name in ("web", "worker", "beat"):
        environment = compose_environment(services[name])
        assert "@db:5432/" in environment.get("DATABASE_URL", ""), name
        assert environment.get("REDIS_URL", "").startswith("redis://redis:"), name
        assert "smtp://mail:1025" in environment.get("EMAIL_URL", ""), name
    assert services["db"]["image"].startswith("postgres:16")
    assert "healthcheck" in services["db"]
    assert services["redis"]["image"].startswith("redis:7")
    assert services["mail"]["image"].startswith("axllent/mailpit")
    assert any(str(port).startswith("8025:") for port in services["mail"]["ports"])
    for name in ("web", "worker"):
        assert any(volume.startswith("media:") for volume in services[name]["volumes"]), name


def test_docker_image_follows_the_design():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    # WeasyPrint's fast font subsetting (DESIGN.md §8).
    assert "libharfbuzz-subset0" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users, "the image must not run as root"
    assert users[-1] not in {"root", "0"}
    # 2 sync workers measured fastest on 2 cores (DESIGN.md §2).
    assert "--workers 2" in dockerfile
    assert "--worker-class sync" in dockerfile
    assert "collectstatic" in dockerfile


def test_docker_build_context_keeps_what_pip_install_and_the_app_need():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = ["README.md", "pyproject.toml", "manage.py", "rma_portal", "templates", "static"]

    excluded = [
        path
        for path in needed
        for pattern in patterns
        if fnmatch.fnmatch(path, pattern.removeprefix("**/").removesuffix("/"))
    ]

    assert not excluded, f".dockerignore drops {excluded}"
    assert ".venv" in patterns
    assert ".git" in patterns


# --- production settings -----------------------------------------------------------------


def test_deploy_checklist_passes_with_production_environment(tmp_path):
    # given: production-like configuration; check --deploy does not connect to either server
    env = environment_without_settings()
    env.update(
        DATABASE_URL=os.environ.get("DATABASE_URL") or backends.LOCAL_POSTGRES,
        REDIS_URL=os.environ.get("REDIS_URL") or backends.LOCAL_REDIS,
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="rma.example.com",
        VAR_DIR=str(tmp_path),
    )

    # when
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    # then: nothing reported, and only the HSTS preload opt-in (security.W021) is silenced
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (1 silenced)" in result.stdout, result.stdout + result.stderr


def test_every_environment_variable_the_settings_read_is_documented():
    operations = (ROOT / "docs" / "operations.md").read_text()
    variables = settings_variables()

    undocumented = sorted(name for name in variables if f"`{name}`" not in operations)

    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"} <= variables
    assert not undocumented, f"add to docs/operations.md: {undocumented}"


# --- embedded mode -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_page(url: str, server: subprocess.Popen, log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"runserver exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (local http)
                assert response.status == 200
                return response.read().decode()
        except urllib.error.HTTPError as error:
            pytest.fail(f"{url} answered {error.code}:\n{error.read().decode()[:2000]}")
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.25)
    pytest.fail(f"{url} did not answer within {timeout} s:\n{log.read_text()}")


@pytest.mark.slow
def test_embedded_mode_boots_and_serves_the_login_page(tmp_path):
    # given: no DATABASE_URL, REDIS_URL or other settings variable, a fresh VAR_DIR
    env = environment_without_settings()
    env["VAR_DIR"] = str(tmp_path / "var")
    migrate = manage("migrate", "--noinput", env=env)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert (tmp_path / "var" / "db.sqlite3").exists(), "embedded mode keeps SQLite in VAR_DIR"

    # when
    port = free_port()
    log = tmp_path / "runserver.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        page = wait_for_page(f"http://127.0.0.1:{port}/accounts/login/", server, log, timeout=30)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    # then
    assert re.search(r"<form[^>]*method=\"post\"", page)
    assert 'name="username"' in page
    assert 'name="password"' in page
    assert 'name="csrfmiddlewaretoken"' in page


# --- README, Makefile, CI ----------------------------------------------------------------


def test_readme_starts_with_the_run_command_then_the_test_command():
    text, blocks = readme_command_blocks()
    title = text.partition("\n")[0]

    assert title.startswith("# ")
    assert len(blocks) >= 2
    intro = text[len(title) : blocks[0].start()].strip()
    assert "#" not in intro
    assert len(re.findall(r"[.!?](?:\s|$)", intro)) <= 1, "at most one sentence before `make run`"
    assert blocks[0]["body"].strip() == "make run"
    between = text[blocks[0].end() : blocks[1].start()]
    assert not re.search(r"^#", between, re.MULTILINE), "no section between the two commands"
    assert "http://127.0.0.1:8000" in between
    assert blocks[1]["body"].strip() == "make test"


def test_make_run_seeds_and_serves_the_embedded_demo_on_localhost_8000():
    recipe = makefile_recipe("run")
    manage_lines = [line for line in recipe if "manage.py" in line]

    steps = [re.search(r"manage\.py (\w+)", line)[1] for line in manage_lines]
    assert steps == ["migrate", "seed_demo", "runserver"]
    assert re.search(r"manage\.py runserver 127\.0\.0\.1:8000$", manage_lines[-1])
    for line in manage_lines:
        assert unsets(line, "DATABASE_URL"), line
        assert unsets(line, "REDIS_URL"), line


def test_ci_script_runs_the_readme_test_command():
    script = ROOT / ".ci" / "run"
    _, blocks = readme_command_blocks()
    test_command = blocks[1]["body"].strip()
    text = script.read_text()

    assert os.access(script, os.X_OK)
    assert "set -euo pipefail" in text
    assert re.search(r"^export CI=true$", text, re.MULTILINE)
    assert re.search(rf"\s{re.escape(test_command)}$", text, re.MULTILINE)
    syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr


def test_static_files_collect_with_the_production_storage(tmp_path, settings):
    # The image runs collectstatic with the manifest storage, which fails on any file a
    # stylesheet or script refers to that is not there (a vendored library's source map).
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "vendor/chartjs/chart.umd.min.js" in manifest

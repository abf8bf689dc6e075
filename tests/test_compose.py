"""The production stack (docker-compose.yml, Dockerfile, .dockerignore, .env.example) is complete
and safe to start, checked without Docker: the files are parsed, and the health-check scripts
run here against the app or a scratch directory."""

from __future__ import annotations

import ast
import fnmatch
import functools
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
SETTINGS = ROOT / "rma_portal" / "settings.py"

APP_SERVICES = ("migrate", "web", "worker", "beat")  # built from this repository
LONG_RUNNING = ("web", "worker", "beat", "db", "redis")  # each needs a health check
# The stack's wiring: these always name its own services, whatever the shell exports (a
# developer's DATABASE_URL points at the test suite's local PostgreSQL, unreachable from a
# container).
OWN_SERVICES = {"DATABASE_URL": "@db:5432/", "REDIS_URL": "redis://redis:6379/"}


# --- reading the files ---------------------------------------------------------------------


@functools.cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def service(name: str) -> dict:
    services = compose()["services"]
    assert name in set(services), f"docker-compose.yml has no service {name!r}"
    return services[name]


def command_of(name: str) -> list[str]:
    command = service(name).get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def healthcheck_of(name: str) -> list[str]:
    """The health check's test as a list: ["CMD", program, args...] or ["CMD-SHELL", line]."""
    check = service(name).get("healthcheck")
    assert check and check.get("test"), f"{name}: no healthcheck"
    test = check["test"]
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    assert test[0] in {"CMD", "CMD-SHELL"}, f"{name}: healthcheck test starts with {test[0]!r}"
    return [str(part) for part in test]


def python_script_of(name: str) -> str:
    """The code of a `python -c CODE` health check."""
    test = healthcheck_of(name)
    assert test[:3] == ["CMD", "python", "-c"], f"{name}: not a `python -c` check: {test[:3]}"
    return test[3]


def settings_variables() -> set[str]:
    """Names of the environment variables rma_portal/settings.py reads: the first argument of
    every env(...), env.bool(...), env.int(...), env.db(...) and so on."""
    names = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        function = node.func
        if isinstance(function, ast.Attribute):
            function = function.value
        first = node.args[0]
        if (
            isinstance(function, ast.Name)
            and function.id == "env"
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
        ):
            names.add(first.value)
    return names


def env_example() -> dict[str, tuple[str, str, bool]]:
    """.env.example's variables: name -> (value, the comment line above it, commented out)."""
    entries = {}
    lines = ENV_EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        found = re.fullmatch(r"(# ?)?([A-Z][A-Z0-9_]*)=(.*)", line)
        if not found:
            continue
        above = lines[number - 1] if number else ""
        name = found[2]
        assert name not in entries, f".env.example: {name} twice"
        entries[name] = (found[3], above, bool(found[1]))
    return entries


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments left out."""
    instructions, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        keyword, _, arguments = (current + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def copy_sources(arguments: str) -> list[str]:
    words = [word for word in shlex.split(arguments) if not word.startswith("--")]
    return words[:-1]


class MissingVariable(Exception):
    pass


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """What Compose makes of a value: $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME-default},
    ${NAME:?error}, ${NAME?error}, ${NAME:+other}, nested in defaults too."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while depth:
                assert j < len(text), f"unclosed ${{ in {text!r}"
                if text.startswith("${", j):
                    depth, j = depth + 1, j + 2
                    continue
                depth -= text[j] == "}"
                j += 1
            out.append(_expression(text[i + 2 : j - 1], variables))
            i = j
        elif name := re.match(r"\$([A-Za-z_]\w*)", text[i:]):
            out.append(variables.get(name[1], ""))
            i += name.end()
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _expression(body: str, variables: Mapping[str, str]) -> str:
    parsed = re.fullmatch(r"([A-Za-z_]\w*)(?:(:?)([-?+])(.*))?", body, re.DOTALL)
    assert parsed, f"Compose cannot interpolate ${{{body}}}"
    name, colon, operator, rest = parsed.groups()
    value = variables.get(name)
    if operator is None:
        return value or ""
    missing = not value if colon else value is None
    if operator == "-":
        return interpolate(rest, variables) if missing else value
    if operator == "?":
        if missing:
            raise MissingVariable(name)
        return value
    return "" if missing else interpolate(rest, variables)


def app_environment(name: str) -> dict[str, str]:
    environment = service(name).get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {key: str(value) for key, value in environment.items()}


# --- services and start order ----------------------------------------------------------------


def test_the_stack_runs_migrations_web_worker_beat_and_its_servers():
    missing = {*APP_SERVICES, "db", "redis", "mail"} - set(compose()["services"])
    assert not missing, f"docker-compose.yml: add the services {sorted(missing)}"
    web = " ".join(command_of("web"))
    assert "gunicorn rma_portal.wsgi" in web, web
    assert "migrate" not in web, f"web must not migrate (the migrate service does): {web}"
    assert re.search(r"\bcelery\b.*\bworker\b", " ".join(command_of("worker")))
    assert re.search(r"\bcelery\b.*\bbeat\b", " ".join(command_of("beat")))
    assert any(str(port).startswith("8000:") for port in service("web").get("ports", []))
    assert any(str(port).startswith("8025:") for port in service("mail").get("ports", []))
    for name in ("web", "worker"):  # uploads, and the PDFs the worker renders
        volumes = service(name).get("volumes", [])
        assert any(str(volume).startswith("media:") for volume in volumes), name


def test_migrations_run_once_in_a_one_shot_service():
    migrate = service("migrate")
    assert command_of("migrate")[:3] == ["python", "manage.py", "migrate"], command_of("migrate")
    assert "--noinput" in command_of("migrate")
    assert migrate.get("restart") == "no", f"migrate: restart {migrate.get('restart')!r}"
    assert migrate.get("depends_on", {}).get("db", {}).get("condition") == "service_healthy"
    migrating = [
        name
        for name in compose()["services"]
        if name != "migrate" and "migrate" in " ".join(command_of(name))
    ]
    assert not migrating, f"only the migrate service migrates, not {migrating}"


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_the_app_starts_after_the_migrations_and_healthy_servers(name):
    depends_on = service(name).get("depends_on", {})
    assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
    conditions = {other: spec.get("condition") for other, spec in depends_on.items()}

    assert conditions.get("migrate") == "service_completed_successfully", f"{name}: {conditions}"
    assert conditions.get("db") == "service_healthy", f"{name}: {conditions}"
    assert conditions.get("redis") == "service_healthy", f"{name}: {conditions}"


# --- health checks ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_long_running_service_has_a_health_check(name):
    test = healthcheck_of(name)
    assert not re.search(r"\b(curl|wget)\b", " ".join(test)), f"{name}: not in the images"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_health_check_dollars_are_escaped_for_compose(name):
    # A single $ is substituted by Compose on the host when the stack starts (HOSTNAME would
    # be the host's, or empty); $$ reaches the container's shell.
    unescaped = [part for part in healthcheck_of(name) if re.search(r"(?<!\$)\$(?!\$)", part)]
    assert not unescaped, f"{name}: write $$ for the container's shell: {unescaped}"


@pytest.mark.parametrize("name", ["web", "beat"])
def test_python_health_checks_compile(name):
    compile(python_script_of(name), f"<{name} healthcheck>", "exec")


def test_web_health_check_calls_healthz_where_gunicorn_listens():
    script = python_script_of("web")
    bind = re.search(r"--bind\s+\S+:(\d+)", DOCKERFILE.read_text())
    assert bind, "Dockerfile: gunicorn --bind ...:PORT in GUNICORN_CMD_ARGS"
    assert f"http://127.0.0.1:{bind[1]}/healthz" in script, script


def closed_port() -> int:
    """A local port nothing listens on (bound once here, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_script(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", script],
        env={"PATH": os.environ.get("PATH", ""), **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.django_db
def test_web_health_check_passes_on_a_healthy_app_with_a_public_host_name(live_server, settings):
    # The app as in production: it answers only to its public name. The check must send that
    # name, or Django answers 400 and the container is never healthy.
    settings.ALLOWED_HOSTS = ["rma.example.com"]
    settings.CELERY_BROKER_URL = "memory://"  # broker "not used": this test needs no Redis
    script = python_script_of("web").replace("http://127.0.0.1:8000", live_server.url)

    healthy = run_script(script, {"ALLOWED_HOSTS": "rma.example.com,www.example.com"})
    no_host = run_script(script, {"ALLOWED_HOSTS": ""})

    assert healthy.returncode == 0, healthy.stderr[-500:]
    assert no_host.returncode != 0, "a 400 answer must fail the check"


@pytest.mark.django_db
def test_web_health_check_fails_when_healthz_says_unhealthy(live_server, settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"  # 503
    script = python_script_of("web").replace("http://127.0.0.1:8000", live_server.url)

    result = run_script(script, {"ALLOWED_HOSTS": "localhost"})

    assert result.returncode != 0
    assert "503" in result.stderr, result.stderr[-500:]


def test_worker_health_check_pings_this_containers_own_worker():
    from celery.bin.control import inspect
    from celery.worker.control import Panel

    command = command_of("worker")
    node = command[command.index("-n") + 1] if "-n" in command else "celery@%h"
    check = healthcheck_of("worker")
    assert check[0] == "CMD-SHELL", f"worker: {check[0]} cannot expand $$HOSTNAME"
    words = shlex.split(check[1])

    assert words[:5] == ["celery", "-A", "rma_portal", "inspect", "ping"], words
    destination = words[words.index("--destination") + 1]
    assert destination == node.replace("%h", "$$HOSTNAME"), (destination, node)
    options = {option for parameter in inspect.params for option in parameter.opts}
    unknown = [word for word in words if word.startswith("--") and word not in options]
    assert not unknown, f"celery inspect has no {unknown}"
    assert "ping" in Panel.meta


def test_beat_health_check_watches_the_schedule_file_beat_writes():
    command = command_of("beat")
    assert "-s" in command, "beat: give the schedule file (-s) the health check watches"
    assert f'glob.glob("{command[command.index("-s") + 1]}*")' in python_script_of("beat")


def test_beat_health_check_fails_on_a_missing_or_stale_schedule_file(tmp_path):
    schedule = tmp_path / "celerybeat-schedule"
    command = command_of("beat")
    script = python_script_of("beat").replace(command[command.index("-s") + 1], str(schedule))

    missing = run_script(script)
    schedule.with_suffix(".dat").write_bytes(b"")  # dbm.dumb's name; gdbm's has no suffix
    fresh = run_script(script)
    stale_time = time.time() - 20 * 60
    os.utime(schedule.with_suffix(".dat"), (stale_time, stale_time))
    stale = run_script(script)

    assert missing.returncode != 0, "no schedule file: beat has not started"
    assert fresh.returncode == 0, fresh.stderr[-500:]
    assert stale.returncode != 0, "a file not written for 20 minutes: beat is stuck"


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_app_containers_read_an_optional_env_file(name):
    env_files = service(name).get("env_file")
    assert env_files, f"{name}: no env_file"
    entries = env_files if isinstance(env_files, list) else [env_files]
    dot_env = [
        entry
        for entry in entries
        if isinstance(entry, dict) and entry.get("path") in {".env", "./.env"}
    ]
    assert dot_env, f"{name}: env_file has no {{path: .env}} entry: {entries}"
    assert dot_env[0].get("required") is False, f"{name}: .env must be optional"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_explicit_values_give_way_to_env_file_and_shell(name):
    # `environment` beats env_file, so a value set there must come from the variable of the
    # same name (Compose reads .env and the shell for it), or .env could not change it.
    environment = app_environment(name)
    fixed = []
    for key, value in environment.items():
        variables = {"SECRET_KEY": "from-env", key: "from-env"}
        if key in OWN_SERVICES:
            assert OWN_SERVICES[key] in interpolate(value, variables), f"{key}: {value}"
        elif interpolate(value, variables) != "from-env":
            fixed.append(key)
    assert not fixed, f"{name}: set through ${{NAME:-default}}: {fixed}"


def test_without_env_file_the_defaults_wire_the_stack_and_secret_key_is_required():
    environment = app_environment("web")
    with pytest.raises(MissingVariable):
        interpolate(environment["SECRET_KEY"], {})

    resolved = {key: interpolate(value, {"SECRET_KEY": "x"}) for key, value in environment.items()}
    assert "@db:5432/" in resolved["DATABASE_URL"], resolved["DATABASE_URL"]
    assert resolved["REDIS_URL"].startswith("redis://redis:6379/"), resolved["REDIS_URL"]
    assert resolved["EMAIL_URL"] == "smtp://mail:1025", resolved["EMAIL_URL"]


def test_every_variable_the_settings_read_is_in_env_example():
    variables = settings_variables()
    entries = env_example()

    missing = sorted(variables - set(entries))
    uncommented = sorted(name for name in entries if not entries[name][1].startswith("# "))
    compose_names = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text()))
    image_names = set(re.findall(r"^ENV\s+(\w+)=", DOCKERFILE.read_text(), re.MULTILINE))
    unknown = sorted(set(entries) - variables - compose_names - image_names)

    assert {"DATABASE_URL", "SECRET_KEY", "SITE_URL", "CONN_MAX_AGE"} <= variables
    assert not missing, f"add to .env.example: {missing}"
    assert not uncommented, f".env.example: a comment line above each of {uncommented}"
    assert not unknown, f".env.example: nothing reads {unknown}"


def test_env_example_holds_no_usable_secret():
    value, _, commented_out = env_example()["SECRET_KEY"]
    # Empty on purpose: Compose refuses to start (${SECRET_KEY:?...}) until it is set.
    assert value == "" and not commented_out, "SECRET_KEY= must be there, and empty"


def test_every_variable_the_settings_read_is_documented():
    operations = (ROOT / "docs" / "operations.md").read_text()

    undocumented = sorted(name for name in settings_variables() if f"`{name}`" not in operations)

    assert not undocumented, f"add to docs/operations.md: {undocumented}"


# --- images ----------------------------------------------------------------------------------


def is_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and bool(re.fullmatch(r"v?\d+\.\d+[\w.-]*", tag))


def test_pulled_images_are_pinned_to_a_version():
    pulled = {
        name: spec.get("image", "")
        for name, spec in compose()["services"].items()
        if "build" not in spec
    }
    loose = {name: image for name, image in pulled.items() if not is_pinned(image)}

    assert {"db", "redis", "mail"} <= set(pulled)
    assert not loose, f"pin to a version tag such as postgres:16.4: {loose}"
    assert pulled["db"].startswith("postgres:16."), "the pgdata volume holds PostgreSQL 16"


def test_the_base_image_is_pinned_to_a_python_patch_release():
    base = next(arguments for keyword, arguments in dockerfile_instructions() if keyword == "FROM")
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", base), base


# --- Dockerfile --------------------------------------------------------------------------------


def test_dependencies_are_installed_before_the_code_is_copied():
    instructions = dockerfile_instructions()
    copies = [i for i, (keyword, args) in enumerate(instructions) if keyword == "COPY"]
    code = next((i for i in copies if "." in copy_sources(instructions[i][1])), None)
    assert code is not None, "Dockerfile: no COPY . ."

    early_files = [
        source for i in copies if i < code for source in copy_sources(instructions[i][1])
    ]
    installs_before = [
        args for keyword, args in instructions[:code] if keyword == "RUN" and "pip install" in args
    ]
    installs_after = [
        args for keyword, args in instructions[code:] if keyword == "RUN" and "pip install" in args
    ]

    assert "pyproject.toml" in early_files, f"copied before the code: {early_files}"
    missing = [source for source in early_files if not (ROOT / source).is_file()]
    assert not missing, f"Dockerfile copies files that do not exist: {missing}"
    assert installs_before, "install the dependencies before COPY . . (layer cache)"
    assert installs_after, "install the project itself after COPY . ."
    assert all("--no-deps" in args for args in installs_after), installs_after


def test_the_dependency_list_the_image_installs_is_complete(tmp_path):
    # Runs the Dockerfile's own `python -c` that lists what to install, on pyproject.toml.
    instructions = dockerfile_instructions()
    run = next(
        (args for keyword, args in instructions if keyword == "RUN" and "tomllib" in args), ""
    )
    assert "python -c" in run, (
        "Dockerfile: no RUN python -c '...tomllib...' listing the dependencies"
    )
    words = shlex.split(run)
    script = words[words.index("-c") + 1]
    shutil.copy(ROOT / "pyproject.toml", tmp_path)

    listed = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split("\n")

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = project["build-system"]["requires"] + project["project"]["dependencies"]
    assert [line for line in listed if line] == wanted


def test_the_image_runs_gunicorn_as_a_user_with_fast_pdfs():
    dockerfile = DOCKERFILE.read_text()
    users = [args for keyword, args in dockerfile_instructions() if keyword == "USER"]

    assert users and users[-1] not in {"root", "0"}, "the image must not run as root"
    assert "libharfbuzz-subset0" in dockerfile  # 3-4x faster font subsetting in WeasyPrint
    assert "--workers 2" in dockerfile and "--worker-class sync" in dockerfile
    assert "collectstatic" in dockerfile


@pytest.mark.parametrize("path", [COMPOSE, DOCKERFILE, ENV_EXAMPLE], ids=lambda path: path.name)
def test_files_named_in_the_comments_exist(path):
    comments = "\n".join(
        line for line in path.read_text().splitlines() if line.lstrip().startswith("#")
    )
    named = set(re.findall(r"[\w./-]*\w\.(?:md|py|toml|yml|yaml)\b", comments))
    missing = sorted(name for name in named if not (ROOT / name).exists())
    assert not missing, f"{path.name} refers to {missing}, not in the repository"


def test_the_build_context_keeps_what_the_image_needs_and_no_secrets():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        return any(
            fnmatch.fnmatch(path, pattern.removeprefix("**/").removesuffix("/"))
            for pattern in patterns
        )

    needed = ["README.md", "pyproject.toml", "manage.py", "rma_portal", "templates", "static"]
    dropped = [path for path in needed if ignored(path)]
    kept = [path for path in [".env", ".git", ".venv"] if not ignored(path)]
    assert not dropped, f".dockerignore drops {dropped}"
    assert not kept, f".dockerignore must leave out {kept}"

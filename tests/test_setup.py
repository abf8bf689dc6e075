"""The ways people start, test, deploy and check the project keep working.

Covers the Makefile, README, CI script, Docker files and docs/operations.md, plus the two
configurations they rely on: the embedded default boots, production settings pass --deploy.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest
from whitenoise.storage import CompressedManifestStaticFilesStorage

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


def manage(*args: str, env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    # The timeout only stops a hung command: on a loaded machine migrating a fresh database
    # took over two minutes (about 20 s of CPU), so it is no measure of speed.
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


# --- embedded mode -----------------------------------------------------------------------


SERVER_ADDRESS = re.compile(r"Starting development server at (http://127\.0\.0\.1:\d+)/")


def server_address(server: subprocess.Popen) -> str:
    """The address runserver announces once its socket listens (Django prints it from the
    server's on-bind hook), read from its output as it comes: no polling, no port guessing.
    Fails with the output if the server exits first."""
    output = []
    for line in server.stdout:
        output.append(line)
        if found := SERVER_ADDRESS.search(line):
            return found[1]
    server.wait()
    pytest.fail(f"runserver exited with {server.returncode}:\n{''.join(output)[-3000:]}")


# An agent of a new tenant opens My work with every case kind (test_embedded_mode_...).
EMBEDDED_INBOX = """
from django.test import Client
from rma_portal.accounts.models import Role
from tests.factories import TenantFactory, UserFactory
agent = UserFactory(tenant=TenantFactory(), role=Role.AGENT)
client = Client()
client.force_login(agent)
response = client.get("/backoffice/?view=all&sort=newest", HTTP_HOST="127.0.0.1")
print(response.status_code, b"inbox-views" in response.content)
"""


@pytest.mark.slow
def test_embedded_mode_boots_and_serves_the_login_page(tmp_path):
    # given: no DATABASE_URL, REDIS_URL or other settings variable, a fresh VAR_DIR
    env = environment_without_settings()
    env["VAR_DIR"] = str(tmp_path / "var")
    env["PYTHONUNBUFFERED"] = "1"
    migrate = manage("migrate", "--noinput", env=env)
    assert migrate.returncode == 0, (migrate.stdout + migrate.stderr)[-3000:]
    assert (tmp_path / "var" / "db.sqlite3").exists(), "embedded mode keeps SQLite in VAR_DIR"

    # when: port 0, so the system picks a free port and runserver tells which
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "127.0.0.1:0", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        address = server_address(server)
        # The socket already listens: the request waits in its backlog, it is not refused.
        with urllib.request.urlopen(f"{address}/accounts/login/", timeout=600) as response:  # noqa: S310 (local http)
            assert response.status == 200
            page = response.read().decode()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()

    # then
    assert re.search(r"<form[^>]*method=\"post\"", page)
    assert 'name="username"' in page
    assert 'name="password"' in page
    assert 'name="csrfmiddlewaretoken"' in page

    # and the back-office's home, whose list is a UNION of returns and complaints, answers on
    # SQLite too (which allows no ORDER BY or LIMIT inside a compound SELECT)
    inbox = manage("shell", "-c", EMBEDDED_INBOX, env=env)
    assert inbox.returncode == 0, (inbox.stdout + inbox.stderr)[-3000:]
    assert inbox.stdout.split()[-2:] == ["200", "True"], inbox.stdout[-2000:]


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


class ProductionStorageWithoutBrotli(CompressedManifestStaticFilesStorage):
    """The production static storage, gzip included, without the Brotli pass: Brotli at its
    highest level is 98 % of a collectstatic run (20 s of 20.5 s measured), and it only
    re-encodes files the manifest pass already accepted."""

    def create_compressor(self, **kwargs):
        return super().create_compressor(**kwargs, use_brotli=False)


def test_static_files_collect_with_the_production_storage(tmp_path, settings):
    # The image runs collectstatic with the manifest storage, which fails on any file a
    # stylesheet or script refers to that is not there (a vendored library's source map).
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": f"{__name__}.ProductionStorageWithoutBrotli"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "vendor/chartjs/chart.umd.min.js" in manifest
    assert list(tmp_path.rglob("chart.umd.min.*.js.gz")), "gzip copies are written"


# --- dependencies and system packages -----------------------------------------------------


def requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_dependency_is_pinned_in_the_constraints_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {requirement_name(r) for r in project["dependencies"]}
    wanted |= {requirement_name(r) for r in project["optional-dependencies"]["dev"]}
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt pins exact versions: {line!r}"
            pins[requirement_name(name)] = version
    assert sorted(wanted - pins.keys()) == []
    for recipe in (makefile_recipe("$(STAMP)"), [(ROOT / ".ci" / "run").read_text()]):
        assert any("-c constraints.txt" in line for line in recipe), recipe


def system_packages(*args: str, path: str) -> subprocess.CompletedProcess:
    """scripts/system-packages as a user who is not root (no apt), with a PATH whose
    dpkg-query knows only the packages in `path`'s "installed" file."""
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "system-packages"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{path}:/usr/bin:/bin"},
        timeout=60,
    )


@pytest.fixture
def fake_dpkg(tmp_path):
    """A dpkg-query that answers from a list, and an `id` that says we are not root."""
    installed = tmp_path / "installed"
    installed.write_text("libpango-1.0-0\n")
    (tmp_path / "dpkg-query").write_text(
        "#!/bin/sh\nfor package; do :; done\n"  # the last argument
        f'grep -qx "$package" {installed} && printf "install ok installed" && exit 0\nexit 1\n'
    )
    (tmp_path / "id").write_text("#!/bin/sh\necho 1000\n")
    for tool in ("dpkg-query", "id"):
        (tmp_path / tool).chmod(0o755)
    return tmp_path


def test_a_missing_optional_package_warns_and_goes_on(fake_dpkg):
    result = system_packages("make run", "libpango-1.0-0", "--", "chromium", path=fake_dpkg)

    assert result.returncode == 0, result.stderr
    assert "warning: chromium is not installed (the browser tests" in result.stdout
    assert "sudo apt-get install chromium" in result.stdout


def test_a_missing_required_package_stops_with_what_to_install(fake_dpkg):
    result = system_packages(
        "make run", "libpango-1.0-0", "libpangoft2-1.0-0", "--", "chromium", path=fake_dpkg
    )

    assert result.returncode == 1
    assert "make run: cannot go on without libpangoft2-1.0-0" in result.stderr
    assert "sudo apt-get install libpangoft2-1.0-0" in result.stderr


def test_apt_waits_for_a_held_lock_instead_of_failing():
    script = (ROOT / "scripts" / "system-packages").read_text()

    assert re.search(r'apt=\(apt-get .*"DPkg::Lock::Timeout=\$lock_timeout"\)', script)
    assert "APT_LOCK_TIMEOUT:-120" in script


def test_make_run_and_make_test_need_only_pango_and_treat_the_rest_as_optional():
    for target in ("run", "test"):
        [line] = [line for line in makefile_recipe(target) if "scripts/system-packages" in line]
        required, _, optional = line.partition(" -- ")
        assert required.split()[-2:] == ["libpango-1.0-0", "libpangoft2-1.0-0"], line
        assert "libharfbuzz-subset0" in optional.split(), line
    [test_line] = [line for line in makefile_recipe("test") if "system-packages" in line]
    assert "chromium" in test_line.partition(" -- ")[2].split()


def test_make_worker_runs_on_local_postgresql_and_redis_unless_told_otherwise():
    # The dry run prints the command as make expands it; its `env …` part must run as is.
    # Not the environment of a `make test` this may run under (its MAKEFLAGS, MAKELEVEL).
    ignored = ("DATABASE_URL", "REDIS_URL", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    environment = {k: v for k, v in os.environ.items() if k not in ignored}
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "worker"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=environment,
    ).stdout
    [printed] = [line for line in dry_run.splitlines() if "/celery -A rma_portal worker" in line]
    env_part = printed.split("/celery -A rma_portal worker", 1)[0].rsplit(" ", 1)[0]
    shown = subprocess.run(
        [*env_part.split(), "sh", "-c", 'echo "$DATABASE_URL $REDIS_URL $DEBUG"'],
        capture_output=True,
        text=True,
        env={**environment, "CELERY_TASK_ALWAYS_EAGER": "true"},
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == [
        "postgres://postgres@127.0.0.1:5432/rma_portal",
        "redis://127.0.0.1:6379/0",
        "true",
    ]

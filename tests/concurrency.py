"""Real races on PostgreSQL, and the same case open in several browsers.

Racing calls run in threads, each on its own database connection, released together by a
barrier. Only meaningful in `django_db(transaction=True)` tests: the threads must see
committed rows and really contend for row locks."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client

from rma_portal.tenancy.context import tenant_context
from tests.html import parse

# A guard against a thread that will never finish, not a timing assumption: a loaded
# machine only makes the threads slower to reach the barrier.
HANG_GUARD = 600.0


def run_concurrently(tenant, calls: list[Callable[[], object]]) -> list[tuple[str, object]]:
    """Run each call in its own thread and database connection, released together by a
    barrier, as `tenant` (None: no tenant in context, as a web request starts). Returns
    ("ok", result) or ("error", exception) per call, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[str, object] | None] = [None] * len(calls)

    def worker(index: int, call) -> None:
        try:
            connection.ensure_connection()  # connect first, so the race starts at the barrier
            if tenant is None:
                barrier.wait(timeout=HANG_GUARD)
                outcomes[index] = ("ok", call())
            else:
                with tenant_context(tenant):
                    barrier.wait(timeout=HANG_GUARD)
                    outcomes[index] = ("ok", call())
        except Exception as exc:  # reported to the test, which asserts on it
            outcomes[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    return outcomes


# --- the same case open in several browsers ---------------------------------------------


def signed_in(user) -> Client:
    """A browser of its own, signed in as `user`."""
    client = Client()
    client.force_login(user)
    return client


def version_on_page(client: Client, change_url: str, form: str) -> str:
    """The version the change page's form `form` (its id) carries, as a browser posts it."""
    page = client.get(change_url)
    assert page.status_code == 200
    return parse(page).select_one(f"#{form} input[name=version]")["value"]


def press(client: Client, change_url: str, form: str, action_url: str, data=None):
    """Submit the change page's form `form` (its id) to `action_url` as a browser does right
    after loading the page: with the version the page carries, and `data`."""
    version = version_on_page(client, change_url, form)
    return client.post(action_url, {**(data or {}), "version": version})


def messages_of(response) -> list[tuple[str, str]]:
    """The messages a POST answered with (level, text), without following the redirect."""
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]

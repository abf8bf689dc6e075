"""Stored files follow the transaction that stored them: a rollback deletes them again.

A file is written to storage before the row that names it is committed, and storage is not
transactional. Without help, a transaction that rolls back after the write (a later
validation error, a failing event or outbox write, a lost race, a failing COMMIT) removes
the row and leaves the file on disk with nothing pointing at it.

Django has no "on rollback" hook: `transaction.on_commit()` only says when the outermost
transaction committed; a callback of a rolled-back transaction or savepoint is silently
dropped. So this module keeps, per database connection, the list of files written inside
the current transaction, each with the savepoints that were open when it was written (the
same bookkeeping Django does for `on_commit` callbacks), and observes the four connection
methods through which every `transaction.atomic()` block (and the manual transaction API)
ends:

- `savepoint_rollback(sid)`: a rolled-back inner `atomic()`. The files written while that
  savepoint was open (in it or in blocks nested in it, released or not) are deleted; files
  of the enclosing blocks stay.
- `rollback()`: the outermost block rolled back (or the COMMIT failed, after which Django
  rolls back). Every file of the transaction is deleted.
- `close()`: the connection is dropped, e.g. after a failed rollback; the database rolls
  the transaction back by itself, so its files are deleted too.
- `commit()`: the transaction committed; its files are kept and forgotten.

A released inner block (`savepoint_commit`) changes nothing: its files now belong to the
enclosing block and are deleted if that one rolls back. An inner `atomic(savepoint=False)`
that fails makes the enclosing block roll back, which covers its files. As with `on_commit`
callbacks, only the savepoints of `atomic()` blocks are seen: after a rollback to a
savepoint made by hand (`transaction.savepoint()`, which this code base does not use) the
files are deleted only if the enclosing block rolls back too, and are otherwise left to the
sweep.

The hooks are installed once on each connection object (thread) the first time a file is
stored in a transaction, as wrappers on that instance that call Django's own method first;
nothing else about the connection changes. A file written outside any transaction
(autocommit) is not tracked: there is nothing to roll back later. `StoredUpload.store`
writes its file inside its own `atomic()`, so even there a failing row save or follow-up
deletes the file.

Two other designs were weighed. Writing the file only after the commit (`on_commit`)
would leave a committed row without its file whenever the process dies in between, and the
file could not be read inside its own transaction: a row naming a missing file is worse
than a file no row names. Deleting the file when Django drops its `on_commit` callback
unrun (a finalizer on the callback) relies on garbage collection, and would also delete the
files of a transaction that did commit when an earlier commit callback raised (Django then
skips the remaining callbacks).

What this cannot see is a process that dies between the write and the COMMIT (killed
worker, power loss): no code runs. Those files, and older orphans, are found by the
periodic sweep (`rma_portal.files.sweep`), which deletes files under a tenant's folder that
no row names once they are older than a grace period.

Deleting a file never raises into the rollback: a failure is logged, and the sweep removes
the file later.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from django.core.files.storage import Storage
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

_TRACKER_ATTRIBUTE = "_stored_files_tracker"


@dataclass(frozen=True)
class _StoredFile:
    storage: Storage
    name: str
    # The savepoints open when the file was written (None for an atomic(savepoint=False)).
    savepoints: frozenset


class _Tracker:
    """The files written in one connection's current transaction."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.files: list[_StoredFile] = []

    def add(self, stored: _StoredFile) -> None:
        self.files.append(stored)

    def committed(self) -> None:
        self.files = []

    def rolled_back_to(self, sid) -> None:
        gone = [f for f in self.files if sid in f.savepoints]
        self.files = [f for f in self.files if sid not in f.savepoints]
        self._delete(gone)

    def rolled_back(self) -> None:
        gone, self.files = self.files, []
        self._delete(gone)

    def _delete(self, files: list[_StoredFile]) -> None:
        for stored in files:
            try:
                stored.storage.delete(stored.name)
            except Exception:
                logger.warning(
                    "stored file of a rolled-back transaction not deleted; the sweep will",
                    extra={"file": stored.name, "database": self.alias},
                    exc_info=True,
                )
            else:
                logger.info(
                    "stored file deleted: its transaction rolled back",
                    extra={"file": stored.name, "database": self.alias},
                )


def _after_success(method, hook):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        result = method(*args, **kwargs)
        hook(*args, **kwargs)
        return result

    return wrapper


def _always_after(method, hook):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        finally:
            hook()

    return wrapper


def _tracker(connection) -> _Tracker:
    tracker = connection.__dict__.get(_TRACKER_ATTRIBUTE)
    if tracker is None:
        tracker = _Tracker(connection.alias)
        # The instance attributes shadow the class's methods for this connection only; each
        # calls Django's method first. A failed ROLLBACK TO SAVEPOINT makes the enclosing
        # block roll back, which deletes the files then; a failed ROLLBACK closes the
        # connection, and the database rolls back on its own, so that deletes at once.
        connection.commit = _after_success(connection.commit, tracker.committed)
        connection.savepoint_rollback = _after_success(
            connection.savepoint_rollback, tracker.rolled_back_to
        )
        connection.rollback = _always_after(connection.rollback, tracker.rolled_back)
        connection.close = _always_after(connection.close, tracker.rolled_back)
        setattr(connection, _TRACKER_ATTRIBUTE, tracker)
    return tracker


def delete_on_rollback(storage: Storage, name: str, *, using: str | None = None) -> None:
    """Delete the stored file `name` if the transaction (or savepoint) in which it was just
    written rolls back; keep it once that transaction commits. Outside a transaction the
    file is left alone."""
    connection = connections[using or DEFAULT_DB_ALIAS]
    if not connection.in_atomic_block:
        return
    _tracker(connection).add(
        _StoredFile(storage=storage, name=name, savepoints=frozenset(connection.savepoint_ids))
    )


def save_file(storage: Storage, name: str, content, *, using: str | None = None) -> str:
    """`storage.save(name, content)`, deleted again if the current transaction rolls back.

    For code that writes through a storage directly instead of `StoredUpload.store` (return
    labels, reports): call it inside the `transaction.atomic()` that saves the row naming
    the file. Returns the name the storage chose."""
    stored_name = storage.save(name, content)
    delete_on_rollback(storage, stored_name, using=using)
    return stored_name


def pending_files(using: str | None = None) -> list[str]:
    """The names of files written in the current transaction that a rollback would delete."""
    tracker = connections[using or DEFAULT_DB_ALIAS].__dict__.get(_TRACKER_ATTRIBUTE)
    return [f.name for f in tracker.files] if tracker is not None else []

"""Stand-ins for a Redis that fails, and a hang guard for code that might wait on one.

- `closed_port()`: a local port nothing listens on, so a connection is refused at once.
- `SilentServer`: accepts connections and reads what it is sent, but never answers, like a
  Redis that hangs (stuck on a slow disk, paused by the kernel, behind a dead NAT entry).
- `run_guarded(call)`: runs `call` in a thread and fails when it has not returned after
  HANG_GUARD seconds. A guard against a hang, not a deadline: a slow machine makes the test
  slower, never red.

Nothing here sleeps: the server's thread blocks in `select` until a socket has something.
"""

from __future__ import annotations

import os
import selectors
import socket
import threading

# The same guard as the worker tests' RMA_TEST_HANG_GUARD, shorter by default: what runs here
# is one request.
HANG_GUARD = float(os.environ.get("RMA_TEST_HANG_GUARD", "120"))


def closed_port() -> int:
    """A local port nothing listens on (bound once by us, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts and reads but never writes a byte.

    `accepted()` says how many connections it has accepted, including any still waiting in
    the listen queue (it accepts those first), so the count does not depend on how fast its
    thread runs. `close()` closes every connection, which ends any client still waiting for an
    answer.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._control, self._control_peer = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._control_peer, selectors.EVENT_READ, "control")
        self._clients: list[socket.socket] = []
        self._accepted = 0
        self._thread = threading.Thread(target=self._serve, name="silent-redis", daemon=True)
        self._thread.start()

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def accepted(self) -> int:
        """Connections accepted so far (asks the server's thread, which answers at once)."""
        self._control.settimeout(HANG_GUARD)  # a guard against a dead thread only
        self._control.sendall(b"?")
        assert self._control.recv(1) == b"!", "the silent server's thread did not answer"
        return self._accepted

    def close(self) -> None:
        if self._thread.is_alive():
            self._control.sendall(b"q")
            self._thread.join(HANG_GUARD)
        self._control.close()

    def _accept_waiting(self) -> None:
        while True:
            try:
                client, _address = self._listener.accept()
            except BlockingIOError:
                return
            client.setblocking(False)
            self._clients.append(client)
            self._selector.register(client, selectors.EVENT_READ, "client")
            self._accepted += 1

    def _serve(self) -> None:
        try:
            while True:
                for key, _events in self._selector.select():
                    if key.data == "accept":
                        self._accept_waiting()
                    elif key.data == "control":
                        command = self._control_peer.recv(1)
                        if command in (b"q", b""):
                            return
                        self._accept_waiting()
                        self._control_peer.sendall(b"!")
                    else:
                        try:
                            data = key.fileobj.recv(65536)  # read, and never answer
                        except OSError:
                            data = b""
                        if not data:
                            self._selector.unregister(key.fileobj)
        finally:
            for client in self._clients:
                client.close()
            self._listener.close()
            self._control_peer.close()
            self._selector.close()


def run_guarded(call, *, what: str):
    """`call()` in a thread; its result, or its exception re-raised here. Fails when it has
    not returned after HANG_GUARD seconds (the thread is then left to the test's cleanup,
    which closes whatever it waits on)."""
    from django.db import connections

    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error
        finally:
            connections.close_all()  # this thread's own database connections

    thread = threading.Thread(target=target, name="guarded-call", daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    if thread.is_alive():
        raise AssertionError(
            f"hang guard: {what} had not returned after {HANG_GUARD:.0f} s; a Redis that "
            "never answers must cost a bounded wait (connect and socket timeouts)"
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]

"""A loopback TCP proxy a test can cut: the database vanishes for the process behind it (its open connections
dropped, new ones refused) while the server itself, shared with other tests, stays up."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import make_url


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.down = False
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # cut: the listener is closed
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)  # an idle pooled connection stays open, as it would direct
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.down:  # accepted as the cut came
                    client.close()
                    server.close()
                    return
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        """The outage: the listener closes (a new connection is refused) and every open connection is dropped."""
        with self.lock:
            self.down = True
            with suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept: close alone leaves it listening
            self.listener.close()
            for sock in self.sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def restore(self) -> None:
        """The database is back: the proxy listens again on its port; connections dropped at the cut stay gone."""
        with self.lock:
            self.listener = socket.create_server(("127.0.0.1", self.port))
            self.sockets = []
            self.down = False
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()


@contextmanager
def tcp_proxy(host: str, port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy((host, port))
    try:
        yield proxy
    finally:
        proxy.cut()


@contextmanager
def proxied_database(database_url: str) -> Iterator[tuple[TcpProxy, str]]:
    """A proxy in front of the PostgreSQL at `database_url`, and the URL that reaches it through the proxy."""
    real = make_url(database_url)
    with tcp_proxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        yield proxy, real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)

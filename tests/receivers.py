"""Real notification receivers on loopback: an HTTP server that checks the HMAC signature (and can be told
to fail), and an aiosmtpd server that requires STARTTLS and a login, with a throwaway certificate."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.api_support import free_port


@dataclass
class Received:
    path: str
    body: bytes
    headers: dict[str, str]
    signature_ok: bool | None
    status: int


@dataclass
class HookReceiver:
    """`fail_first[path] = n`: the first n requests on that path answer 500; `slow[path]` sleeps first."""

    secret: bytes
    url: str = ""
    received: list[Received] = field(default_factory=list)
    fail_first: dict[str, int] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, body: bytes, header: str | None) -> bool | None:
        """Independent of vetoflow's code: HMAC-SHA256 over `timestamp.body`, within five minutes."""
        if header is None:
            return None
        parts = dict(p.split("=", 1) for p in header.split(","))
        expected = hmac.new(self.secret, parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - int(parts["t"])) < 300
        return fresh and hmac.compare_digest(expected, parts["v1"])

    def ids(self, path: str, status: int | None = None) -> list[str]:
        """The idempotency ids received on `path` (header `X-Vetoflow-Id`), in arrival order."""
        found = [r for r in self.received if r.path == path and status in (None, r.status)]
        return [next(v for k, v in r.headers.items() if k.lower() == "x-vetoflow-id") for r in found]


HOOK_SECRET = "hook-secret-for-tests"


def webhook_channel(receiver: HookReceiver) -> str:
    """A policy's `notify:` block with one channel: `receiver`'s /hook, signed with the secret the `receiver`
    fixture (conftest) puts in VETOFLOW_TEST_HOOK_SECRET."""
    return f"notify:\n  - webhook: {receiver.url}/hook\n    secret: env:VETOFLOW_TEST_HOOK_SECRET\n"


@contextmanager
def hook_receiver(secret: bytes = HOOK_SECRET.encode()) -> Iterator[HookReceiver]:
    state = HookReceiver(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            time.sleep(state.slow.get(self.path, 0.0))
            with state.lock:
                seen = sum(1 for r in state.received if r.path == self.path)
                status = 500 if seen < state.fail_first.get(self.path, 0) else 200
                signature = state.verify(body, self.headers.get("X-Vetoflow-Signature"))
                state.received.append(Received(self.path, body, dict(self.headers), signature, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost and its key, written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class Mailbox:
    port: int
    ca_file: Path
    messages: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


@contextmanager
def smtp_server(folder: Path, user: str = "mailer", password: str = "mail-pass-123") -> Iterator[Mailbox]:
    """aiosmtpd requiring STARTTLS before anything, and a login over TLS."""
    cert, key = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox(free_port(), cert)

    class Handler:
        async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd hook)
            box.messages.append(envelope)
            return "250 OK"

    def authenticator(_server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == user.encode() and data.password == password.encode()
        if ok:
            box.logins.append(user)
        return AuthResult(success=ok)

    controller = Controller(
        Handler(), hostname="127.0.0.1", port=box.port, tls_context=context, require_starttls=True,
        authenticator=authenticator, auth_required=True, auth_require_tls=True,
    )  # fmt: skip
    controller.start()
    try:
        yield box
    finally:
        controller.stop()

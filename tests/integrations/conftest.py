"""Fixtures of the webhook tests: a real HTTP receiver on 127.0.0.1, an admin, endpoints."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from integrations import services
from integrations.events import SUBSCRIBABLE
from integrations.models import WebhookEndpoint
from tests.factories import AdminFactory


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local webhook receiver: records every POST, answers with the queued status codes (then 200)."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    answer_body: bytes = b'{"received": true}'

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                state.requests.append(Received(self.path, dict(self.headers.items()), body))
                code = state.answers.pop(0) if state.answers else 200
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.answer_body)))
            self.end_headers()
            self.wfile.write(state.answer_body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def admin(tenant_a: Any) -> Any:
    return AdminFactory(email="admin@alpha-mediation.fr")


@pytest.fixture
def endpoint(admin: Any, receiver: Receiver) -> WebhookEndpoint:
    """An active endpoint of firm alpha on the local receiver, subscribed to every event."""
    return services.create_endpoint(by=admin, url=receiver.url, events=SUBSCRIBABLE, description="CRM")

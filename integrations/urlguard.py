"""The SSRF guard: a firm's webhook URL must not make our servers call into our own network.

Checked when an endpoint is saved (form and API) and again before every
attempt, since a host name may resolve elsewhere later. Unless
WEBHOOKS_ALLOW_PRIVATE_NETWORKS (development, tests), the URL must be https
and every address its host resolves to must be public: loopback, private,
link-local (cloud metadata), shared, multicast and reserved ranges are refused.
The attempt itself goes through `session()`, which checks the address the
socket actually connected to: a DNS answer that changes between the check and
the connection (DNS rebinding) is refused too.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(_("Le nom d'hôte « %(host)s » est introuvable.") % {"host": host}, "unresolvable_host") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check(url: str, *, resolve: bool = True) -> None:
    """Raises UnsafeURL when `url` may not receive webhooks; `resolve` False skips the DNS look-up."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(_("Cette adresse n'est pas valide."), "invalid_url") from exc
    allow_private = settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS
    allowed_schemes = {"http", "https"} if allow_private else {"https"}
    if parts.scheme not in allowed_schemes:
        message = (
            _("L'adresse doit commencer par http:// ou https://.")
            if allow_private
            else _("L'adresse doit commencer par https:// (les envois sont chiffrés).")
        )
        raise UnsafeURL(message, "scheme_not_allowed")
    host = parts.hostname or ""
    if not host:
        raise UnsafeURL(_("L'adresse n'indique pas de nom d'hôte."), "invalid_url")
    if parts.username or parts.password:
        raise UnsafeURL(_("L'adresse ne doit pas contenir d'identifiants."), "invalid_url")
    if allow_private:
        return
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    elif host.rstrip(".").lower() == "localhost" or host.rstrip(".").lower().endswith(".localhost"):
        addresses = [ipaddress.ip_address("127.0.0.1")]
    elif not resolve:
        return
    else:
        addresses = _resolve(host, port or (443 if parts.scheme == "https" else 80))
    if not addresses or not all(_is_public(address) for address in addresses):
        raise UnsafeURL(
            _("Cette adresse mène à un réseau privé ou réservé : seules les adresses publiques sont acceptées."),
            "private_address",
        )


# --- At connection time ---------------------------------------------------------------------------


def _check_peer(connection: HTTPConnection, sock: socket.socket) -> socket.socket:
    peer = str(sock.getpeername()[0]).split("%")[0]
    if not _is_public(ipaddress.ip_address(peer)):
        sock.close()
        raise NewConnectionError(connection, f"refused: {connection.host} connected to the non-public address {peer}")
    return sock


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _check_peer(self, super()._new_conn())


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _check_peer(self, super()._new_conn())


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }


def session() -> requests.Session:
    """A requests session for one attempt; unless private networks are allowed, it connects to public addresses only.

    Proxies from the environment are not used when guarded: the address checked
    must be the webhook's host, not a proxy's.
    """
    http = requests.Session()
    if not settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS:
        http.trust_env = False
        adapter = _GuardedAdapter()
        http.mount("http://", adapter)
        http.mount("https://", adapter)
    return http

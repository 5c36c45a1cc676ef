"""One normalisation of URLs and hosts, so that two spellings of one address compare equal.

The Production guard compares addresses through `endpoint()` and `normalize_host()` only. They undo what
an HTTP client or server would undo on the way: IDNA mapping (case, ideographic full stops, punycode), a
trailing dot, default ports, percent-encoding and dot segments in paths, IPv4-mapped IPv6, the numeric
IPv4 spellings the resolver accepts (2130706433, 0x7f000001, 127.1), and every loopback name and address
(the same machine, whichever one a server listens on). Names that only DNS or a proxy could tell apart
(a CNAME, an /etc/hosts line, this machine's own LAN address) are out of reach offline.
"""

from __future__ import annotations

import functools
import ipaddress
import posixpath
import re
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import idna

LOOPBACK = "loopback"
PRODUCTION_HOSTS = frozenset({"api.servicetitan.io", "auth.servicetitan.io"})
INTEGRATION_HOSTS = frozenset({"api-integration.servicetitan.io", "auth-integration.servicetitan.io"})
# Path segments that name an environment, as the simulator (and a proxy in front of both) mounts them.
_PATH_MARKERS = {"prod": "prod", "production": "prod", "int": "int", "integration": "int"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NUMERIC_V4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")


@dataclass(frozen=True)
class Endpoint:
    """An address as a server sees it: host, port and path (the scheme only picks the default port)."""

    host: str
    port: int | None
    path: str


def _ip(host: str) -> str | None:
    """The canonical text of an IP address spelled in any form the resolver accepts, else None."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone id does not change the host
    except ValueError:
        if not _NUMERIC_V4.match(host):
            return None
        try:
            address = ipaddress.ip_address(socket.inet_ntoa(socket.inet_aton(host)))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_unspecified:  # connecting to 0.0.0.0 or :: reaches this machine
        return LOOPBACK
    return str(address)


@functools.lru_cache(maxsize=1024)
def normalize_host(host: str) -> str:
    """The host as it is reached: lower case ASCII (punycode), no trailing dot; every loopback is LOOPBACK."""
    host = unquote(host.strip()).strip("[]")
    try:
        host = idna.uts46_remap(host, std3_rules=False, transitional=False)
    except idna.IDNAError:
        host = host.lower()
    host = host.rstrip(".")
    ip = _ip(host)
    if ip is not None:
        return ip
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always this machine
        return LOOPBACK
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        return host


def decoded(text: str) -> str:
    """Percent-decoded until stable (a proxy may decode twice)."""
    for _ in range(5):
        once = unquote(text)
        if once == text:
            break
        text = once
    return text


def normalize_path(path: str) -> str:
    """Percent-decoded (until stable: a proxy may decode twice), dot segments resolved, slashes collapsed,
    no trailing slash, case-folded (ServiceTitan's servers route paths case-insensitively)."""
    path = re.sub(r"/+", "/", "/" + decoded(path).replace("\\", "/"))
    path = posixpath.normpath(path)
    return "" if path == "/" else path.rstrip("/").casefold()


def endpoint(url: str) -> Endpoint:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    return Endpoint(
        normalize_host(parts.hostname or ""), parts.port or _DEFAULT_PORTS.get(scheme), normalize_path(parts.path)
    )


def under(where: Endpoint, base: Endpoint) -> bool:
    """True when `where` is `base` or below it: the same host and port, and `base`'s path segments a prefix of
    `where`'s (both normalised: "/int/../prod" is not below "/int", "/integration" is not below "/int")."""
    return (where.host, where.port) == (base.host, base.port) and (
        where.path == base.path or where.path.startswith(base.path + "/")
    )


def environment_of(url: str | Endpoint) -> str | None:
    """ "prod" or "int" when the URL names an environment: an official host, else a path segment."""
    where = url if isinstance(url, Endpoint) else endpoint(url)
    if where.host in PRODUCTION_HOSTS:
        return "prod"
    if where.host in INTEGRATION_HOSTS:
        return "int"
    marks = {_PATH_MARKERS[s] for s in where.path.split("/") if s in _PATH_MARKERS}
    return marks.pop() if len(marks) == 1 else None


def describe(url: str) -> str:
    """What names the environment in `url`, for a message."""
    where = endpoint(url)
    if where.host in PRODUCTION_HOSTS | INTEGRATION_HOSTS:
        return f"the host {where.host}"
    return f"the path {where.path}"

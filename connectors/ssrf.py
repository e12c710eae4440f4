"""Address checking for outbound requests (the SSRF guard). `connectors.safehttp` calls `Policy.addresses`
at connect time, so the addresses checked here are the very addresses the socket connects to.

- `parse_url` checks a URL's form: http(s) only, no user info, a host, a port in 1-65535.
- `Policy.addresses` resolves a host ONCE and checks EVERY address it got.
- `is_blocked_ip` says why an address must not be reached: anything not globally routable, plus the
  IPv6 forms that carry an IPv4 address (mapped, compatible, 6to4, NAT64, Teredo) when that one is.
Numeric host forms the OS accepts (`127.1`, `0x7f000001`, `0177.0.0.1`, `2852039166`) are read as the
addresses they are, with the OS's own parser.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable, Iterable
from urllib.parse import urlsplit

from . import errors

Resolver = Callable[[str, int], list]
IP = ipaddress.IPv4Address | ipaddress.IPv6Address

_net = ipaddress.ip_network
LOOPBACK = (_net("127.0.0.0/8"), _net("::1/128"))
PRIVATE = (_net("10.0.0.0/8"), _net("172.16.0.0/12"), _net("192.168.0.0/16"), _net("fc00::/7"))
CGNAT = _net("100.64.0.0/10")
THIS_NETWORK = _net("0.0.0.0/8")
# IANA special-purpose ranges that aren't globally reachable, listed so the verdict doesn't depend on
# the Python version's `is_global` (3.11 misses some). Teredo (in 2001::/23) is unwrapped before this.
SPECIAL = tuple(_net(n) for n in (
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "240.0.0.0/4", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16"))
# Cloud metadata endpoints that live in ranges an admin may open up (AWS's IPv6 one is in the ULA range).
METADATA = (_net("fd00:ec2::254/128"),)

IPV4_MAPPED = _net("::ffff:0:0/96")
IPV4_COMPATIBLE = _net("::/96")  # deprecated ::a.b.c.d
SIX_TO_FOUR = _net("2002::/16")
NAT64 = _net("64:ff9b::/96")
NAT64_LOCAL = _net("64:ff9b:1::/48")
TEREDO = _net("2001::/32")


def _blocked(message: str) -> errors.StepError:
    return errors.StepError(errors.SSRF, f"blocked: {message}", retryable=False)


# --- addresses -----------------------------------------------------------------------------------

def _embedded_ipv4(addr: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 transition form carries, with what they are."""
    last32 = ipaddress.IPv4Address(addr.packed[-4:])
    if addr in IPV4_MAPPED:
        return [("IPv4-mapped", last32)]
    if addr in IPV4_COMPATIBLE and int(addr) > 1:  # not :: or ::1
        return [("IPv4-compatible", last32)]
    if addr in SIX_TO_FOUR:
        return [("6to4", addr.sixtofour)]
    if addr in NAT64 or addr in NAT64_LOCAL:
        return [("NAT64", last32)]
    if addr in TEREDO:
        server, client = addr.teredo  # client: the last 32 bits, XOR-ed
        return [("Teredo server", server), ("Teredo client", client)]
    return []


def _classify(addr: IP, allow_loopback: bool, allow_private: bool) -> str | None:
    """Why a plain (not embedding) address must not be reached, or None."""
    if any(addr in net for net in METADATA if net.version == addr.version):
        return "cloud metadata address"
    if addr.is_loopback:
        return None if allow_loopback else "loopback address"
    if any(addr in net for net in PRIVATE if net.version == addr.version):
        return None if allow_private else "private network address"
    if addr.is_unspecified or (addr.version == 4 and addr in THIS_NETWORK):
        return "unspecified address"
    if addr.is_link_local:
        return "link-local address (cloud metadata lives here)"
    if addr.version == 4 and addr in CGNAT:
        return "carrier-grade NAT address"
    if addr.is_multicast:
        return "multicast address"
    if addr.version == 6 and addr.is_site_local:
        return "site-local address"
    if addr.is_reserved:
        return "reserved address"
    if not addr.is_global or any(addr in net for net in SPECIAL if net.version == addr.version):  # documentation, benchmarking, broadcast, IETF protocol ranges, ...
        return "not a public internet address"
    return None


def is_blocked_ip(ip: str, *, allow_loopback=False, allow_private=False) -> str | None:
    """Why `ip` must not be reached, or None when it may.

    `allow_loopback` opens 127.0.0.0/8 and ::1 (and ::ffff:127.x, the same sockets); `allow_private`
    opens RFC 1918 and fc00::/7. 6to4, NAT64 and Teredo addresses are reached through public relays, so
    the IPv4 they carry must be public whatever is allowed; IPv4-compatible and local-use NAT64
    addresses are never allowed.
    """
    try:
        addr = ipaddress.ip_address(str(ip).strip("[]").split("%", 1)[0])  # zone ids don't change the address
    except ValueError:
        return "not an IP address"
    if addr.version == 6:
        embedded = _embedded_ipv4(addr)
        mapped = addr in IPV4_MAPPED
        for what, inner in embedded:
            reason = (is_blocked_ip(str(inner), allow_loopback=allow_loopback, allow_private=allow_private)
                      if mapped else _classify(inner, False, False))
            if reason:
                return f"{what} {inner}: {reason}"
        if mapped or addr in SIX_TO_FOUR or addr in NAT64 or addr in TEREDO:
            return None  # carries only allowed IPv4 addresses
        if embedded:
            return "deprecated IPv4-compatible address" if addr in IPV4_COMPATIBLE else "local-use NAT64 address"
    return _classify(addr, allow_loopback, allow_private)


def literal_ip(host: str) -> str | None:
    """The IP address written in `host` itself, in canonical form, or None for a name.

    Besides the standard forms this reads every IPv4 form the OS resolver accepts (`127.1`, `0x7f.1`,
    `0x7f000001`, `0177.0.0.1`, `2852039166`), using the same C parser (inet_aton).
    """
    h = host.strip("[]").split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(h))
    except ValueError:
        pass
    if not h or not h.isascii() or any(c.isspace() for c in h):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(h))
    except OSError:
        return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every A/AAAA address of `host` (socket.getaddrinfo)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def normalize_host(host: str | bytes) -> str:
    if isinstance(host, bytes):
        host = host.decode("ascii")
    return host.strip().strip("[]").rstrip(".").lower()


# --- policy --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Policy:
    """What may be reached. Immutable, so one policy is safely shared by many threads."""
    allow_loopback: bool = False
    allow_private: bool = False
    allowed_hosts: frozenset = frozenset()  # exact host names that skip the check (trusted local sandboxes)
    resolver: Resolver | None = None  # (host, port) -> [ip, ...]; default socket.getaddrinfo

    @classmethod
    def build(cls, *, allow_loopback=False, allow_private=False, allowed_hosts: Iterable[str] = (),
              resolver: Resolver | None = None) -> Policy:
        return cls(bool(allow_loopback), bool(allow_private),
                   frozenset(normalize_host(h) for h in allowed_hosts), resolver)

    def resolve(self, host: str, port: int) -> list[str]:
        try:
            ips = list((self.resolver or system_resolver)(host, port))
        except (OSError, UnicodeError) as exc:
            raise errors.StepError(errors.UPSTREAM, f"could not resolve host {host!r}: {exc}", retryable=True) from None
        if not ips:
            raise errors.StepError(errors.UPSTREAM, f"could not resolve host {host!r}: no addresses", retryable=True)
        return [str(ip) for ip in ips]

    def addresses(self, host: str | bytes, port: int, *, resolve: bool = True) -> list[str]:
        """Resolve `host` once and check every address. Returns them all (each allowed), or raises
        ssrf_blocked when ANY is not, so a name with one public and one private address is refused.
        With resolve=False only an IP written in the host is checked (names return [], no DNS)."""
        name = normalize_host(host)
        if not name:
            raise _blocked("the URL has no host")
        literal = literal_ip(name)
        ips = [literal] if literal else self.resolve(name, port) if resolve else []
        if name in self.allowed_hosts:
            return ips
        for ip in ips:
            reason = is_blocked_ip(ip, allow_loopback=self.allow_loopback, allow_private=self.allow_private)
            if reason:
                raise _blocked(f"{name} resolves to {ip} ({reason})")
        return ips


# --- URLs ----------------------------------------------------------------------------------------

def parse_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable URL; ssrf_blocked for anything else. Checks form only:
    addresses are checked when connecting (or by `check_url`)."""
    if not isinstance(url, str) or not url:
        raise _blocked("the URL is empty")
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise _blocked("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _blocked("the URL is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _blocked(f"only http and https URLs are allowed (got {scheme or 'none'!r})")
    if "@" in parts.netloc:
        raise _blocked("user names and passwords in URLs are not allowed")
    if "\\" in parts.netloc:
        raise _blocked("backslashes in the host are not allowed")
    try:
        port = parts.port
    except ValueError:
        raise _blocked("the port is not valid") from None
    if port is None:
        port = 443 if scheme == "https" else 80
    if not 1 <= port <= 65535:
        raise _blocked(f"the port {port} is not valid")
    host = normalize_host(parts.hostname or "")
    if not host:
        raise _blocked("the URL has no host")
    return scheme, host, port


def check_url(url: str, *, allow_loopback=False, allow_private=False, allowed_hosts: Iterable[str] = (),
              resolver: Resolver | None = None) -> None:
    """Raise ssrf_blocked unless `url` is an http(s) URL whose every address may be reached. For
    validating a URL when a user saves it; requests are checked again when they connect."""
    _, host, port = parse_url(url)
    Policy.build(allow_loopback=allow_loopback, allow_private=allow_private, allowed_hosts=allowed_hosts,
                 resolver=resolver).addresses(host, port)

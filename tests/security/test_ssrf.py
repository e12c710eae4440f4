"""F1/F2: the SSRF guard (connectors.ssrf, connectors.safehttp).

Every URL of the corpus must be refused with `ssrf_blocked`, both by `check_url` (used when a URL is
saved) and by `SafeClient.request`, before any socket is opened. Names are answered by a fake resolver,
so no test needs DNS; a guard fixture fails the test if anything tries to connect or resolve for real.
"""
import ipaddress
import socket

import httpcore
import pytest
from hypothesis import given, strategies as st

from connectors import errors
from connectors.safehttp import SafeClient, check_url, is_blocked_ip

PUBLIC_V4, PUBLIC_V6 = "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"

DNS = {
    "example.com": [PUBLIC_V4, PUBLIC_V6],
    "localhost": ["127.0.0.1", "::1"],
    "metadata.google.internal": ["169.254.169.254"],
    "metadata.azure.example": ["fd00:ec2::254"],
    "internal.corp": ["10.0.0.5"],
    "mixed.example": [PUBLIC_V4, "10.0.0.5"],  # one public and one private address
    "mixed6.example": [PUBLIC_V4, "::1"],
    "sneaky.example": [PUBLIC_V4, "::ffff:169.254.169.254"],
    "teredo.example": ["2001:0:4136:e378:8000:63bf:3fff:fdd2"],
}


def fake_resolver(host, port):
    try:
        return list(DNS[host])
    except KeyError:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None


BLOCKED = [
    # loopback, in every spelling
    "http://127.0.0.1/", "http://127.0.0.1:8000/admin", "https://127.0.0.1/", "http://localhost/",
    "http://LOCALHOST:80/", "http://localhost./", "http://127.0.0.1./", "http://[::1]/", "http://[::1]:8080/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:7f00:1]/",
    "http://[::127.0.0.1]/", "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://127.1/",
    "http://0x7f.1/", "http://0x7f.0.0.1/", "http://127.000.000.001/",
    # unspecified
    "http://0.0.0.0/", "http://0.0.0.0:8000/", "http://0/", "http://[::]/", "http://0.1.2.3/",
    # cloud metadata
    "http://169.254.169.254/latest/meta-data/", "http://2852039166/", "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/", "http://169.254.170.2/v2/credentials", "http://[fd00:ec2::254]/",
    "http://100.100.100.200/latest/meta-data/", "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata.google.internal./", "http://metadata.azure.example/", "http://[::ffff:a9fe:a9fe]/",
    # private, CGNAT, link-local, site-local, multicast, broadcast, reserved, documentation
    "http://10.0.0.1/", "http://172.16.0.1/", "http://172.31.255.255/", "http://192.168.1.1/",
    "http://100.64.0.1/", "http://[fc00::1]/", "http://[fd12:3456::1]/", "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/", "http://[fec0::1]/", "http://224.0.0.1/", "http://[ff02::1]/",
    "http://255.255.255.255/", "http://240.0.0.1/", "http://192.0.2.1/", "http://198.18.0.1/",
    "http://192.0.0.8/", "http://[2001:db8::1]/", "http://internal.corp/",
    # IPv6 transition forms carrying a blocked IPv4
    "http://[2002:a9fe:a9fe::]/", "http://[2002:7f00:1::]/", "http://[2002:c0a8:101::1]/",
    "http://[64:ff9b::a9fe:a9fe]/", "http://[64:ff9b::127.0.0.1]/", "http://[64:ff9b:1::a00:1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo client 192.0.2.45 (documentation)
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo client 127.0.0.1
    "http://[2001:0:a00:1:8000:63bf:3fff:fdd2]/",  # Teredo server 10.0.0.1
    "http://teredo.example/",
    # names with several addresses: one bad address is enough
    "http://mixed.example/", "http://mixed6.example/", "http://sneaky.example/",
    # schemes
    "file:///etc/passwd", "FILE:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "gopher://example.com/",
    "ftp://example.com/", "dict://127.0.0.1:11211/stat", "ldap://example.com/", "javascript:alert(1)",
    "//example.com/", "example.com", "",
    # user info and parser confusion
    "http://a@127.0.0.1/", "http://127.0.0.1#@example.com/", "http://example.com@127.0.0.1:80/",
    "http://user:pass@example.com/", "http://example.com\\@127.0.0.1/", "http://example.com:80\\@127.0.0.1/",
    "http://127.0.0.1\\.example.com/",
    # case, whitespace, control characters
    "HTTP://127.0.0.1/", "HtTpS://LocalHost/", " http://127.0.0.1/", "http://127.0.0.1/ ",
    "http://127.0.0.1/\r\nHost: example.com", "http://example.com/\r\nX-Injected: 1", "http://exa\tmple.com/",
    "http://example.com/\x00",
    # hosts and ports
    "http:///etc/passwd", "http://:80/", "http://example.com:0/", "http://example.com:65536/",
    "http://example.com:-1/", "http://[::1/",
]


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything opens a socket or asks the real DNS."""
    def forbidden(*args, **kwargs):
        raise AssertionError(f"network touched for a blocked URL: {args!r}")

    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", forbidden)


def assert_ssrf(call, *args, **kwargs) -> errors.StepError:
    with pytest.raises(errors.StepError) as info:
        call(*args, **kwargs)
    assert info.value.category == errors.SSRF, str(info.value)
    assert info.value.retryable is False
    assert info.value.message.startswith("blocked: ")
    return info.value


def test_the_corpus_is_big_enough():
    assert len(BLOCKED) >= 45 and len(set(BLOCKED)) == len(BLOCKED)


@pytest.mark.parametrize("url", BLOCKED)
def test_check_url_blocks(url, no_network):
    assert_ssrf(check_url, url, resolver=fake_resolver)


@pytest.mark.parametrize("url", BLOCKED)
def test_client_blocks_before_connecting(url, no_network):
    with SafeClient(allow_loopback=False, allow_private=False, resolver=fake_resolver) as client:
        assert_ssrf(client.request, "GET", url)
        assert_ssrf(client.request, "POST", url, json={"x": 1}, follow_redirects=True)


@pytest.mark.parametrize("url, message", [
    ("http://localhost/", "blocked: localhost resolves to 127.0.0.1 (loopback address)"),
    ("http://2852039166/", "blocked: 2852039166 resolves to 169.254.169.254 (link-local address"),
    ("http://mixed.example/", "blocked: mixed.example resolves to 10.0.0.5 (private network address)"),
    ("http://[2002:a9fe:a9fe::]/", "blocked: 2002:a9fe:a9fe:: resolves to 2002:a9fe:a9fe:: (6to4 169.254.169.254"),
    ("gopher://example.com/", "blocked: only http and https URLs are allowed"),
    ("http://a@127.0.0.1/", "blocked: user names and passwords in URLs are not allowed"),
])
def test_messages_name_host_address_and_reason(url, message, no_network):
    assert assert_ssrf(check_url, url, resolver=fake_resolver).message.startswith(message)


@pytest.mark.parametrize("url", [
    "http://example.com/", "https://example.com:8443/path?q=1#frag", "http://EXAMPLE.com./", "http://8.8.8.8/",
    "http://[2606:4700:4700::1111]/", "http://[2002:808:808::]/", "http://[64:ff9b::8.8.8.8]/",
    "http://[::ffff:8.8.8.8]/", "http://134744072/",
])
def test_public_addresses_pass(url, no_network):
    check_url(url, resolver=fake_resolver)


def test_allow_loopback_opens_loopback_only(no_network):
    for url in ("http://127.0.0.1/", "http://127.8.9.10/", "http://[::1]/", "http://localhost/", "http://127.1/"):
        check_url(url, allow_loopback=True, resolver=fake_resolver)
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://0.0.0.0/", "http://[fe80::1]/",
                "http://[2002:7f00:1::]/", "http://[64:ff9b::127.0.0.1]/"):
        assert_ssrf(check_url, url, allow_loopback=True, resolver=fake_resolver)


def test_allow_private_opens_rfc1918_and_ula_only(no_network):
    for url in ("http://10.0.0.1/", "http://172.20.1.1/", "http://192.168.0.10/", "http://[fd12::1]/",
                "http://internal.corp/"):
        check_url(url, allow_private=True, resolver=fake_resolver)
    for url in ("http://127.0.0.1/", "http://169.254.169.254/", "http://100.64.0.1/", "http://[fd00:ec2::254]/",
                "http://[2002:a00:1::]/", "http://[64:ff9b::10.0.0.1]/"):
        assert_ssrf(check_url, url, allow_private=True, resolver=fake_resolver)


def test_allowed_hosts_skip_the_check_for_exact_names_only(no_network):
    check_url("http://localhost:8080/", allowed_hosts=["LocalHost"], resolver=fake_resolver)
    check_url("http://localhost./", allowed_hosts=["localhost"], resolver=fake_resolver)
    assert_ssrf(check_url, "http://127.0.0.1/", allowed_hosts=["localhost"], resolver=fake_resolver)
    assert_ssrf(check_url, "http://internal.corp/", allowed_hosts=["corp"], resolver=fake_resolver)
    assert_ssrf(check_url, "file:///etc/passwd", allowed_hosts=["localhost"], resolver=fake_resolver)


def test_unknown_names_are_upstream_errors_not_blocks(no_network):
    with pytest.raises(errors.StepError) as info:
        check_url("http://nxdomain.example/", resolver=fake_resolver)
    assert info.value.category == errors.UPSTREAM and "could not resolve" in info.value.message


def test_dns_rebinding_after_the_url_was_validated(no_network):
    """F2: the URL passed `check_url` (public answer); the request resolves again when it connects, gets
    127.0.0.1 (TTL 0) and is refused without dialling it."""
    answers = iter([[PUBLIC_V4], ["127.0.0.1"]])
    calls = []

    def rebinding(host, port):
        calls.append(host)
        return next(answers)

    check_url("http://rebind.example/", resolver=rebinding)
    with SafeClient(resolver=rebinding) as client:
        err = assert_ssrf(client.request, "GET", "http://rebind.example/")
    assert "resolves to 127.0.0.1 (loopback address)" in err.message
    assert calls == ["rebind.example", "rebind.example"]  # once to validate, once (only) to connect


# --- is_blocked_ip -------------------------------------------------------------------------------

@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", PUBLIC_V4, PUBLIC_V6, "2002:808:808::1", "64:ff9b::101:101",
                                "::ffff:1.1.1.1", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"])
def test_public_ips_are_not_blocked(ip):
    assert is_blocked_ip(ip) is None


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1", "10.1.2.3", "fd00::1", "169.254.169.254", "100.64.0.1",
                                "0.0.0.0", "::", "224.0.0.251", "ff02::fb", "fe80::1%eth0", "fec0::1", "not-an-ip",
                                "::ffff:10.0.0.1", "::10.0.0.1", "::8.8.8.8", "64:ff9b:1::808:808"])
def test_internal_ips_are_blocked(ip):
    assert is_blocked_ip(ip)


def _v4(n: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(n)


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_transition_forms_are_judged_by_the_ipv4_they_carry(n):
    v4 = _v4(n)
    blocked = is_blocked_ip(str(v4)) is not None
    teredo_client = ipaddress.IPv6Address((0x20010000 << 96) | (0x08080808 << 64) | (n ^ 0xFFFFFFFF))
    forms = [
        ipaddress.IPv6Address((0xFFFF << 32) | n),  # ::ffff:a.b.c.d
        ipaddress.IPv6Address((0x2002 << 112) | (n << 80)),  # 6to4
        ipaddress.IPv6Address((0x0064FF9B << 96) | n),  # NAT64
        teredo_client,  # Teredo via the public server 8.8.8.8
    ]
    for form in forms:
        assert (is_blocked_ip(str(form)) is not None) == blocked, (form, v4)
    if n > 1:  # ::a.b.c.d (IPv4-compatible, deprecated): always blocked
        assert is_blocked_ip(str(ipaddress.IPv6Address(n)))


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_numeric_host_forms_resolve_to_what_the_os_reads(n):
    dotted = str(_v4(n))
    for form in (str(n), hex(n), f"0{n:o}"):
        try:
            check_url(f"http://{form}/", resolver=fake_resolver)
        except errors.StepError as exc:
            assert exc.category == errors.SSRF and f"resolves to {dotted} " in exc.message
        else:
            assert is_blocked_ip(dotted) is None

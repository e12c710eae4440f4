"""connectors.safehttp against a real local HTTP server on 127.0.0.1: passthrough, redirects (each hop
checked), DNS rebinding (the connection goes to the checked address), timeouts (C5), size cap (C6),
connection errors, pooling, threads and the shared client."""
import gzip
import json
import os
import socket
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpcore
import pytest

from connectors import errors, safehttp
from connectors.safehttp import SafeClient

MB = 1024 * 1024
PUBLIC_IP = "93.184.216.34"


class Handler(BaseHTTPRequestHandler):
    """Routes: /json, /status/<n>, /echo, /redirect?to=&code=, /close, /trickle, /hang, /huge, /bomb, /gzip."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status=200, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        self.server.hits.append((self.command, self.path))
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        route = getattr(self, "route_" + url.path.strip("/").split("/")[0], None)
        try:
            route(url, query, body) if route else self._send(404, b"no such route")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (which is what several tests want)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle

    def route_json(self, url, query, body):
        self._send(200, json.dumps({"ok": True, "n": 1}).encode(),
                   [("Content-Type", "application/json"), ("X-Test", "yes")])

    def route_status(self, url, query, body):
        self._send(int(url.path.split("/")[-1]), b"not json", [("Content-Type", "text/plain")])

    def route_echo(self, url, query, body):
        self._send(200, json.dumps({"method": self.command, "path": self.path, "body": body.decode(),
                                    "headers": dict(self.headers)}).encode(), [("Content-Type", "application/json")])

    def route_redirect(self, url, query, body):
        self._send(int(query.get("code", 302)), b"", [("Location", query["to"])])

    def route_close(self, url, query, body):
        self._send(200, b"bye", [("Connection", "close")])
        self.close_connection = True

    def route_trickle(self, url, query, body):  # 100 bytes promised, 1 byte per 0.2 s
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        for _ in range(100):
            self.wfile.write(b"x")
            self.wfile.flush()
            if self.server.stop.wait(0.2):
                return

    def route_hang(self, url, query, body):  # never answers
        self.server.stop.wait(10)

    def route_huge(self, url, query, body):  # 50 MB, streamed
        self.send_response(200)
        self.send_header("Content-Length", str(50 * MB))
        self.end_headers()
        chunk = b"x" * 65536
        for _ in range(50 * MB // len(chunk)):
            self.wfile.write(chunk)

    def route_bomb(self, url, query, body):  # 50 MB of zeros, gzipped to ~50 KB
        self._send(200, self.server.bomb, [("Content-Encoding", "gzip")])

    def route_cookie(self, url, query, body):  # a session cookie, as many APIs (and CDNs) set
        self._send(200, b"{}", [("Set-Cookie", "session=workspace-a-secret; Path=/"), ("Content-Type", "application/json")])

    def route_gzip(self, url, query, body):
        self._send(200, gzip.compress(b'{"zipped": true}'), [("Content-Encoding", "gzip"),
                                                            ("Content-Type", "application/json")])


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.hits, srv.stop = [], threading.Event()
    srv.bomb = gzip.compress(bytes(50 * MB), compresslevel=9)
    srv.port = srv.server_address[1]
    srv.url = f"http://127.0.0.1:{srv.port}"
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.stop.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def hits(server):
    server.hits.clear()
    return server.hits


@pytest.fixture
def client():
    with SafeClient(allow_loopback=True) as c:
        yield c


def step_error(category, call, *args, **kwargs) -> errors.StepError:
    with pytest.raises(errors.StepError) as info:
        call(*args, **kwargs)
    assert info.value.category == category, str(info.value)
    return info.value


class DialRecorder(httpcore.SyncBackend):
    """The real dialler, recording which address each connection was pinned to. `reroute` sends every
    connection to the local server instead, standing in for the public host the test pretends to be."""

    def __init__(self, reroute_to_port=None):
        self.dialled, self.reroute = [], reroute_to_port

    def connect_tcp(self, host, port, *args, **kwargs):
        self.dialled.append(host)
        if self.reroute:
            host, port = "127.0.0.1", self.reroute
        return super().connect_tcp(host, port, *args, **kwargs)


# --- passthrough ---------------------------------------------------------------------------------

def test_status_headers_and_json_pass_through(server, client):
    resp = client.request("GET", server.url + "/json", params={"a": "1"})
    assert resp.status == 200 and resp.headers["x-test"] == "yes"
    assert resp.json() == {"ok": True, "n": 1} and json.loads(resp.text) == resp.json()
    assert resp.url == server.url + "/json?a=1" and isinstance(resp.elapsed_ms, int) and not resp.truncated


def test_error_statuses_are_returned_not_raised(server, client):
    resp = client.request("GET", server.url + "/status/503")
    assert resp.status == 503 and resp.text == "not json"
    with pytest.raises(ValueError):
        resp.json()


def test_request_body_headers_and_user_agent_are_sent(server, client):
    echo = client.request("post", server.url + "/echo", json={"x": 1}, headers={"X-Key": "k"}).json()
    assert echo["method"] == "POST" and json.loads(echo["body"]) == {"x": 1}
    assert echo["headers"]["X-Key"] == "k" and echo["headers"]["User-Agent"] == "Flowline/0.1"


def test_cookies_are_never_kept_between_requests(server, client):
    """The client is shared by every run of the process, whatever the workspace: a cookie one run's
    response sets must not ride along on another run's request (no cross-tenant session leaks)."""
    assert client.request("GET", server.url + "/cookie").status == 200
    sent = client.request("GET", server.url + "/echo").json()["headers"]
    assert "Cookie" not in sent and "cookie" not in sent
    explicit = client.request("GET", server.url + "/echo", headers={"Cookie": "mine=1"})
    assert explicit.json()["headers"]["Cookie"] == "mine=1"  # a step's own Cookie header still goes


def test_gzip_bodies_are_decoded(server, client):
    assert client.request("GET", server.url + "/gzip").json() == {"zipped": True}


def test_connections_are_pooled_and_resolved_once(server):
    calls = []
    with SafeClient(allow_loopback=True, resolver=lambda h, p: calls.append(h) or ["127.0.0.1"]) as c:
        c.backend.inner = recorder = DialRecorder()
        for _ in range(3):
            assert c.request("GET", f"http://api.local:{server.port}/json").status == 200
    assert calls == ["api.local"] and recorder.dialled == ["127.0.0.1"]


def test_many_threads_share_one_client(server, client):
    results = []

    def work():
        for _ in range(5):
            results.append(client.request("GET", server.url + "/json").json()["ok"])

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 80


# --- the guard against the real server -------------------------------------------------------------

def test_loopback_is_blocked_unless_allowed(server, hits):
    with SafeClient(allow_loopback=False) as c:
        err = step_error(errors.SSRF, c.request, "GET", server.url + "/json")
    assert err.message == "blocked: 127.0.0.1 resolves to 127.0.0.1 (loopback address)" and not err.retryable
    assert hits == []


def test_settings_decide_when_not_given(server, settings):
    settings.SSRF_ALLOW_LOOPBACK, settings.HTTP_MAX_RESPONSE_BYTES = False, 1234
    with SafeClient() as c:
        step_error(errors.SSRF, c.request, "GET", server.url + "/json")
        assert c.max_response_bytes == 1234
    settings.SSRF_ALLOW_LOOPBACK = True
    with SafeClient() as c:
        assert c.request("GET", server.url + "/json").status == 200


def test_dns_rebinding_cannot_reach_loopback(server, hits):
    """F2: the resolver answers a public address first, then 127.0.0.1 (TTL 0). The connection goes to
    the address that was checked (rerouted here to the local server, playing the public host); the
    later loopback answer is refused and never dialled."""
    answers = iter([[PUBLIC_IP], ["127.0.0.1"], ["127.0.0.1"]])
    with SafeClient(resolver=lambda host, port: next(answers)) as c:
        c.backend.inner = recorder = DialRecorder(reroute_to_port=server.port)
        url = f"http://rebind.example:{server.port}"
        assert c.request("GET", url + "/json").json() == {"ok": True, "n": 1}  # the first answer, pinned
        assert c.request("GET", url + "/json").status == 200  # kept-alive: still the pinned connection
        assert recorder.dialled == [PUBLIC_IP]
        assert c.request("GET", url + "/close").text == "bye"  # the server drops the connection
        err = step_error(errors.SSRF, c.request, "GET", url + "/json")  # reconnecting resolves again
    assert "rebind.example resolves to 127.0.0.1 (loopback address)" in err.message
    assert recorder.dialled == [PUBLIC_IP] and len(hits) == 3


# --- redirects -----------------------------------------------------------------------------------

def test_redirects_are_not_followed_unless_asked(server, client, hits):
    resp = client.request("GET", server.url + "/redirect?to=/json")
    assert resp.status == 302 and resp.headers["location"] == "/json" and len(hits) == 1


def test_redirects_are_followed_hop_by_hop(server, client):
    resp = client.request("GET", server.url + "/redirect?to=/redirect%3Fto%3D/json%26code%3D307",
                          follow_redirects=True)
    assert resp.status == 200 and resp.json()["ok"] and resp.url == server.url + "/json"


@pytest.mark.parametrize("code, method, expected", [
    (303, "POST", "GET"), (303, "PUT", "GET"), (302, "POST", "GET"), (301, "POST", "GET"),
    (307, "POST", "POST"), (308, "PUT", "PUT"), (302, "PUT", "PUT"),
])
def test_redirect_method_rewriting(server, client, code, method, expected):
    echo = client.request(method, f"{server.url}/redirect?code={code}&to=/echo", json={"a": 1},
                          headers={"Content-Type": "application/json"}, follow_redirects=True).json()
    assert echo["method"] == expected
    if expected == "GET":
        assert echo["body"] == "" and "Content-Type" not in echo["headers"]
    else:
        assert json.loads(echo["body"]) == {"a": 1}


def test_authorization_is_dropped_on_cross_origin_hops(server):
    with SafeClient(allow_loopback=True, resolver=lambda h, p: ["127.0.0.1"]) as c:
        same = c.request("GET", f"{server.url}/redirect?to=/echo", headers={"Authorization": "Bearer s3cret"},
                         follow_redirects=True).json()
        other = c.request("GET", f"{server.url}/redirect?to=http://other.local:{server.port}/echo",
                          headers={"Authorization": "Bearer s3cret", "Cookie": "sid=1", "X-Keep": "1"},
                          follow_redirects=True).json()
    assert same["headers"]["Authorization"] == "Bearer s3cret"
    assert "Authorization" not in other["headers"] and "Cookie" not in other["headers"]
    assert other["headers"]["X-Keep"] == "1"


@pytest.mark.parametrize("target", ["http://internal.corp/admin", "http://169.254.169.254/latest/meta-data/",
                                    "http://2852039166/", "http://[::ffff:10.0.0.1]/", "file:///etc/passwd",
                                    "gopher://127.0.0.1:6379/_INFO"])
def test_a_redirect_to_a_blocked_host_is_blocked_at_the_hop(server, hits, target, monkeypatch):
    """F1 'public host 302 -> metadata': loopback is allowed (the server plays the public host); the
    hop to the internal target is refused before any socket is opened to it."""
    with SafeClient(allow_loopback=True, resolver=lambda h, p: {"internal.corp": ["10.0.0.5"]}[h]) as c:
        c.backend.inner = recorder = DialRecorder()
        err = step_error(errors.SSRF, c.request, "GET", f"{server.url}/redirect?to={target}", follow_redirects=True)
    assert err.message.startswith("blocked: ") and not err.retryable
    assert recorder.dialled == ["127.0.0.1"] and len(hits) == 1


def test_too_many_redirects(server, client, hits):
    err = step_error(errors.UPSTREAM, client.request, "GET", server.url + "/redirect?to=/redirect%3Fto%3D/json",
                     follow_redirects=True, max_redirects=0)
    assert "too many redirects" in err.message and not err.retryable and len(hits) == 1


# --- timeouts, size cap, connection errors -------------------------------------------------------

def test_a_trickling_body_ends_at_the_total_deadline(server):
    with SafeClient(allow_loopback=True, total_timeout=1.0, read_timeout=5.0) as c:
        started = time.monotonic()
        err = step_error(errors.TIMEOUT, c.request, "GET", server.url + "/trickle")
    assert 0.9 <= time.monotonic() - started < 1.5
    assert err.retryable and "total time limit" in err.message


def test_the_per_call_timeout_can_only_shorten_the_total(server):
    with SafeClient(allow_loopback=True, total_timeout=1.0) as c:
        started = time.monotonic()
        step_error(errors.TIMEOUT, c.request, "GET", server.url + "/trickle", timeout=0.5)
        assert 0.4 <= time.monotonic() - started < 0.9
        started = time.monotonic()
        step_error(errors.TIMEOUT, c.request, "GET", server.url + "/trickle", timeout=60)
        assert time.monotonic() - started < 1.5


def test_a_server_that_never_answers_hits_the_read_timeout(server):
    with SafeClient(allow_loopback=True, read_timeout=0.5) as c:
        started = time.monotonic()
        err = step_error(errors.TIMEOUT, c.request, "GET", server.url + "/hang")
    assert 0.4 <= time.monotonic() - started < 1.2
    assert err.retryable and "sent nothing for 0.5 s" in err.message


def test_connect_timeouts_are_timeouts(server):
    class Blackhole(httpcore.SyncBackend):
        def connect_tcp(self, *args, **kwargs):
            raise httpcore.ConnectTimeout("timed out")

    with SafeClient(allow_loopback=True, connect_timeout=0.2) as c:
        c.backend.inner = Blackhole()
        err = step_error(errors.TIMEOUT, c.request, "GET", server.url + "/json")
    assert err.retryable and "could not connect to 127.0.0.1 within 0.2 s" in err.message


def test_a_huge_response_is_cut_at_the_cap_quickly_with_flat_memory(server):
    with SafeClient(allow_loopback=True, max_response_bytes=MB) as c:
        tracemalloc.start()
        started = time.monotonic()
        try:
            err = step_error(errors.VALIDATION, c.request, "GET", server.url + "/huge")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert time.monotonic() - started < 2
    assert err.message == f"response too large (over {MB} bytes)" and not err.retryable
    assert peak < 8 * MB


def test_a_compression_bomb_is_cut_at_the_cap_with_flat_memory(server):
    with SafeClient(allow_loopback=True, max_response_bytes=MB) as c:
        tracemalloc.start()
        try:
            err = step_error(errors.VALIDATION, c.request, "GET", server.url + "/bomb")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert "response too large" in err.message and peak < 8 * MB


def test_a_response_at_the_cap_is_fine(server):
    size = len(json.dumps({"ok": True, "n": 1}))
    with SafeClient(allow_loopback=True, max_response_bytes=size) as c:
        assert c.request("GET", server.url + "/json").json()["ok"]
    with SafeClient(allow_loopback=True, max_response_bytes=size - 1) as c:
        step_error(errors.VALIDATION, c.request, "GET", server.url + "/json")


def test_connection_refused_is_a_retryable_upstream_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with SafeClient(allow_loopback=True) as c:
        err = step_error(errors.UPSTREAM, c.request, "GET", f"http://127.0.0.1:{port}/")
    assert err.retryable and err.message.startswith("could not connect to host: 127.0.0.1")


# --- the shared client ---------------------------------------------------------------------------

def test_get_client_is_one_shared_client_per_configuration(settings):
    safehttp._reset_client()
    settings.SSRF_ALLOW_LOOPBACK = False
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(safehttp.get_client())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 1 and seen[0] is safehttp.get_client()
    assert seen[0].policy.allow_loopback is False
    settings.SSRF_ALLOW_LOOPBACK = True
    assert safehttp.get_client() is not seen[0] and safehttp.get_client().policy.allow_loopback


def test_the_shared_client_is_not_inherited_across_fork():
    safehttp.get_client()
    pid = os.fork()
    if pid == 0:  # the child: a fresh client, not the parent's pool
        os._exit(0 if not safehttp._clients else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and safehttp._clients


# --- TLS: pinned to the checked IP, but SNI, certificate check and Host use the name ---------------

def _self_signed(tmp_path, name):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_https_uses_the_host_name_for_sni_certificate_and_host_header(tmp_path, monkeypatch):
    import ssl

    cert, key = _self_signed(tmp_path, "secure.test")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads, srv.hits, srv.stop = True, [], threading.Event()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    sni = []
    server_ctx.sni_callback = lambda sock, name, ctx: sni.append(name)
    srv.socket = server_ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setattr(safehttp.httpx, "create_ssl_context", lambda: ssl.create_default_context(cafile=cert))
    try:
        with SafeClient(allow_loopback=True, resolver=lambda h, p: ["127.0.0.1"]) as c:
            c.backend.inner = recorder = DialRecorder()
            echo = c.request("GET", f"https://secure.test:{srv.server_address[1]}/echo").json()
            assert echo["headers"]["Host"] == f"secure.test:{srv.server_address[1]}"
            assert sni == ["secure.test"] and recorder.dialled == ["127.0.0.1"]
            # the certificate is for secure.test: the same server under another name is refused
            err = step_error(errors.UPSTREAM, c.request, "GET", f"https://other.test:{srv.server_address[1]}/echo")
            assert "certificate" in err.message.lower() and not err.retryable
    finally:
        srv.stop.set()
        srv.shutdown()
        srv.server_close()


# --- content decoding --------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding, encode", [
    ("gzip", gzip.compress), ("deflate", __import__("zlib").compress),
    ("deflate", lambda b: __import__("zlib").compress(b)[2:-4]),  # raw deflate, as some servers send
    ("br", lambda b: b),  # not asked for: passed through as it came
])
def test_bounded_decoder(encoding, encode):
    data = b"hello world " * 1000
    decoder = safehttp._BoundedDecoder(encoding)
    encoded = encode(data)
    out = b"".join(decoder.decode(encoded[i:i + 100], len(data) + 1) for i in range(0, len(encoded), 100))
    assert out == encode(data) if encoding == "br" else out == data
    assert len(safehttp._BoundedDecoder(encoding).decode(encoded, 10)) <= (len(encoded) if encoding == "br" else 10)


def test_text_uses_the_declared_charset():
    resp = safehttp.Response(200, safehttp.httpx.Headers({"Content-Type": "text/plain; charset=latin-1"}),
                             "café".encode("latin-1"), "http://x/", 1)
    assert resp.text == "café"

"""The one outbound HTTP client. Every request to a user-given or connector URL goes through here.

- SSRF guard, on by default (`connectors.ssrf`): a custom httpcore network backend resolves the host
  once when it opens a connection, checks EVERY address, and connects to a checked address itself,
  so DNS rebinding between check and connect is impossible. TLS SNI and the Host header still use the
  host name, and connections are pooled per origin (a pooled connection stays on its checked address).
- Redirects are followed only when asked, hop by hop, each hop checked again.
- Timeouts: connect, read, and a total deadline over the whole call (httpx has none), enforced on
  every socket operation, so a server trickling 1 byte/s is cut off at the deadline.
- Responses are streamed and cut at a size cap (after decompression), so memory stays flat.
Errors are `StepError`s: ssrf_blocked, timeout, upstream_error, validation.

    resp = get_client().request("POST", url, json={...}, timeout=30)
    resp.status, resp.headers, resp.json()
"""
from __future__ import annotations

import contextvars
import json as jsonlib
import os
import threading
import time
import zlib
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Iterable
from urllib.parse import urljoin

import httpcore
import httpx

from . import errors
from .ssrf import Policy, Resolver, check_url, is_blocked_ip, parse_url

__all__ = ["Response", "SafeClient", "GuardedBackend", "Policy", "check_url", "is_blocked_ip", "get_client"]

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
REDIRECTS = {301, 302, 303, 307, 308}
CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "cookie"}  # never sent to another origin
BODY_HEADERS = {"content-type", "content-length", "content-encoding", "transfer-encoding"}

# The monotonic deadline of the call running in this thread/context; read by every socket operation.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("safehttp_deadline", default=None)


def _setting(name, default):
    """A Django setting, or `default` when Django isn't configured (the module works without it)."""
    try:
        from django.conf import settings

        return getattr(settings, name, default) if settings.configured else default
    except Exception:
        return default


@dataclass
class Response:
    status: int
    headers: httpx.Headers
    content: bytes
    url: str
    elapsed_ms: int
    truncated: bool = False

    def json(self) -> Any:
        """The body parsed as JSON; ValueError when it isn't."""
        return jsonlib.loads(self.content)

    @property
    def text(self) -> str:
        charset = httpx.Headers(self.headers).get("content-type", "").partition("charset=")[2].split(";")[0]
        try:
            return self.content.decode(charset.strip(" \"'") or "utf-8", "replace")
        except LookupError:
            return self.content.decode("utf-8", "replace")


# --- the guarded network backend -----------------------------------------------------------------

def _within_deadline(timeout: float | None, exc_class: type[Exception]) -> float | None:
    """`timeout` shortened to what is left of the call's total deadline; `exc_class` once it passed."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise exc_class("total time limit reached")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every read/write/TLS handshake also respects the call's total deadline."""

    def __init__(self, inner: httpcore.NetworkStream):
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to addresses the policy approved, resolved in the same call: the
    host is resolved once, every address checked, and the socket connects to a checked IP (pinned).
    `inner` does the actual connecting (tests may wrap it to see which IP was dialled)."""

    def __init__(self, policy: Policy, inner: httpcore.NetworkBackend | None = None):
        self.policy = policy
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        ips = self.policy.addresses(host, port)  # raises ssrf_blocked before any socket is opened
        failure: Exception | None = None
        for ip in ips:
            try:
                stream = self.inner.connect_tcp(ip, port, timeout=_within_deadline(timeout, httpcore.ConnectTimeout),
                                                local_address=local_address, socket_options=socket_options)
                return _DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure  # type: ignore[misc]  # `addresses` never returns an empty list

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise errors.StepError(errors.SSRF, "blocked: unix sockets are not allowed", retryable=False)

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


# --- bounded body reading ------------------------------------------------------------------------

class _BoundedDecoder:
    """Undoes a gzip/deflate Content-Encoding without ever producing more than asked for, so a
    compression bomb stops at the size cap instead of filling memory. Other codings (we don't ask for
    them) are passed through as they came."""

    def __init__(self, content_encoding: str):
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip().lower() not in ("", "identity")]
        self.mode = codings[0] if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate") else None
        self._z = None
        if self.mode:
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16 if self.mode != "deflate" else zlib.MAX_WBITS)
        self._started = False

    def decode(self, data: bytes, limit: int) -> bytes:
        """At most `limit` bytes decoded from `data` (the caller asks for one more than it accepts)."""
        if self._z is None:
            return data
        try:
            out = self._z.decompress(data, limit)  # past `limit` the rest waits (and the caller aborts)
        except zlib.error:
            if self.mode == "deflate" and not self._started:  # some servers send raw deflate
                self._z, self.mode = zlib.decompressobj(-zlib.MAX_WBITS), "raw deflate"
                return self.decode(data, limit)
            raise errors.StepError(errors.UPSTREAM, f"the response body is not valid {self.mode}", retryable=False) from None
        self._started = True
        return out


# --- the client ----------------------------------------------------------------------------------

class SafeClient:
    """A pooled, SSRF-guarded HTTP client. Thread-safe: share one per process (`get_client`).

    Settings used when an argument is None: SSRF_ALLOW_LOOPBACK, SSRF_ALLOW_PRIVATE,
    HTTP_MAX_RESPONSE_BYTES (defaults False, False, 10 MiB)."""

    def __init__(self, *, allow_loopback: bool | None = None, allow_private: bool | None = None,
                 allowed_hosts: Iterable[str] = (), max_response_bytes: int | None = None,
                 connect_timeout=5.0, read_timeout=30.0, total_timeout=60.0, user_agent="Flowline/0.1",
                 resolver: Resolver | None = None):
        self.policy = Policy.build(
            allow_loopback=_setting("SSRF_ALLOW_LOOPBACK", False) if allow_loopback is None else allow_loopback,
            allow_private=_setting("SSRF_ALLOW_PRIVATE", False) if allow_private is None else allow_private,
            allowed_hosts=allowed_hosts, resolver=resolver)
        self.max_response_bytes = int(max_response_bytes if max_response_bytes is not None
                                      else _setting("HTTP_MAX_RESPONSE_BYTES", DEFAULT_MAX_RESPONSE_BYTES))
        self.connect_timeout, self.read_timeout, self.total_timeout = connect_timeout, read_timeout, total_timeout
        self.backend = GuardedBackend(self.policy)
        ssl_context = httpx.create_ssl_context()
        transport = httpx.HTTPTransport(verify=ssl_context, retries=0)
        # httpx has no hook for the network backend: swap in a pool that uses ours (same defaults).
        transport._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=100, max_keepalive_connections=20,
            keepalive_expiry=30.0, retries=0, network_backend=self.backend)
        self.http = httpx.Client(
            transport=transport, trust_env=False,  # no proxies from the environment: we dial ourselves
            # keep no cookies: the client serves every run of the process, whatever the workspace, and a
            # cookie one run's response sets must never ride along on another's request
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            follow_redirects=False, timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"})

    def request(self, method, url, *, headers=None, params=None, json=None, data=None, content=None,
                follow_redirects: bool = False, max_redirects: int = 5, timeout: float | None = None) -> Response:
        """Send one request (following redirects if asked) and read the whole response.

        `timeout` is the total time allowed for the call, redirects included; it can only shorten the
        client's `total_timeout`. Raises StepError: ssrf_blocked (before connecting), timeout,
        upstream_error (connection problems), validation (response over the size cap)."""
        total = self.total_timeout if timeout is None else min(float(timeout), self.total_timeout)
        token = _deadline.set(time.monotonic() + total)
        try:
            return self._request(method.upper(), url, dict(headers or {}), params, json, data, content,
                                 follow_redirects, max_redirects, total)
        finally:
            _deadline.reset(token)

    def _request(self, method, url, headers, params, json, data, content, follow_redirects, max_redirects, total):
        origin = parse_url(url)  # (scheme, host, port); rejects bad URLs before anything else
        for _hop in range(max_redirects + 1):
            resp = self._send(method, url, headers, params, json, data, content, total)
            location = resp.headers.get("location")
            if not (follow_redirects and resp.status in REDIRECTS and location):
                return resp
            url = urljoin(resp.url, location.strip())
            hop_origin = parse_url(url)  # each hop checked like the first URL (addresses: on connect)
            params = None  # already part of resp.url, so of a relative Location
            if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                method = "GET" if method != "HEAD" else method
                json = data = content = None
                headers = {k: v for k, v in headers.items() if k.lower() not in BODY_HEADERS}
            if hop_origin != origin:
                headers = {k: v for k, v in headers.items() if k.lower() not in CREDENTIAL_HEADERS}
        raise errors.StepError(errors.UPSTREAM, f"too many redirects (more than {max_redirects})", retryable=False)

    def _send(self, method, url, headers, params, json, data, content, total) -> Response:
        _, host, port = parse_url(url)
        # IPs written in the URL (in any form the OS reads) are refused here, even where httpx would
        # refuse the form itself; names are resolved and checked once, when a connection is opened.
        self.policy.addresses(host, port, resolve=False)
        started = time.monotonic()
        try:
            with self.http.stream(method, url, headers=headers, params=params, json=json, data=data,
                                  content=content) as r:
                body = self._read_body(r)
                return Response(r.status_code, r.headers, body, str(r.url), int((time.monotonic() - started) * 1000))
        except errors.StepError:
            raise
        except httpx.TimeoutException as exc:
            raise self._timeout_error(exc, host, total) from None
        except httpx.ConnectError as exc:
            bad_cert = "CERTIFICATE_VERIFY_FAILED" in str(exc)  # won't fix itself on a retry
            raise errors.StepError(errors.UPSTREAM, f"could not connect to host: {host} ({exc or 'connection failed'})",
                                   retryable=not bad_cert) from None
        except httpx.TransportError as exc:  # ReadError, WriteError, RemoteProtocolError, ...
            raise errors.StepError(errors.UPSTREAM, f"connection to {host} failed: {exc or type(exc).__name__}",
                                   retryable=True) from None
        except httpx.HTTPError as exc:  # invalid URL or headers and the like
            raise errors.StepError(errors.VALIDATION, f"invalid request to {host}: {exc}", retryable=False) from None

    def _read_body(self, r: httpx.Response) -> bytes:
        """The decoded body, read in chunks; aborted past the size cap or the deadline."""
        cap, body = self.max_response_bytes, bytearray()
        decoder = _BoundedDecoder(r.headers.get("content-encoding", ""))
        for raw in r.iter_raw():
            body += decoder.decode(raw, cap - len(body) + 1)
            if len(body) > cap:
                raise errors.StepError(errors.VALIDATION, f"response too large (over {cap} bytes)", retryable=False)
            _within_deadline(None, httpx.ReadTimeout)
        return bytes(body)

    def _timeout_error(self, exc: httpx.TimeoutException, host: str, total: float) -> errors.StepError:
        deadline = _deadline.get()
        if deadline is not None and time.monotonic() >= deadline - 0.01:
            what = f"gave up on {host} after {total:g} s (total time limit)"
        elif isinstance(exc, httpx.ConnectTimeout):
            what = f"could not connect to {host} within {self.connect_timeout:g} s"
        elif isinstance(exc, httpx.ReadTimeout):
            what = f"{host} sent nothing for {self.read_timeout:g} s"
        else:
            what = f"{type(exc).__name__} talking to {host}"
        return errors.StepError(errors.TIMEOUT, f"timed out: {what}", retryable=True)

    def close(self):
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- the shared client ---------------------------------------------------------------------------

_clients: dict[tuple, SafeClient] = {}
_clients_lock = threading.Lock()


def get_client() -> SafeClient:
    """The process's shared, pooled client (created on first use; one per SSRF/size configuration, so
    changing settings in tests takes effect). Reset in a child after os.fork: pools aren't fork-safe."""
    key = (bool(_setting("SSRF_ALLOW_LOOPBACK", False)), bool(_setting("SSRF_ALLOW_PRIVATE", False)),
           tuple(_setting("SSRF_ALLOWED_HOSTS", ())), _setting("HTTP_MAX_RESPONSE_BYTES", DEFAULT_MAX_RESPONSE_BYTES))
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = SafeClient(allow_loopback=key[0], allow_private=key[1],
                                                    allowed_hosts=key[2], max_response_bytes=key[3])
    return client


def _reset_client():
    """Forget the shared clients (without closing: after a fork their sockets belong to the parent)."""
    global _clients_lock
    _clients.clear()
    _clients_lock = threading.Lock()  # another thread may have held it at fork time


os.register_at_fork(after_in_child=_reset_client)

"""OAuth against a local token server on loopback: code exchange, refresh with rotation,
single-flight refresh under concurrency, invalid_grant -> needs re-authorisation."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors import auth, errors
from connectors.gohighlevel import oauth
from connectors.safehttp import SafeClient

from .gohighlevel.conftest import FakeCredentials


class TokenServer:
    def __init__(self):
        self.calls, self.valid_refresh, self.n = [], {"r0"}, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                server.calls.append((urlsplit(self.path).path, form, dict(self.headers)))
                time.sleep(0.05)  # widen the race window for the concurrency test
                status, body = server.answer(urlsplit(self.path).path, form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def answer(self, path, form):
        if path == "/oauth/locationToken":
            return 201, {"access_token": "loc-token", "expires_in": 86399, "locationId": form["locationId"], "scope": "contacts.readonly"}
        if form["grant_type"] == "authorization_code":
            if form["code"] != "good-code":
                return 400, {"error": "invalid_grant", "error_description": "bad code"}
            self.valid_refresh = {"r1"}
            return 200, {"access_token": "a1", "refresh_token": "r1", "expires_in": 86399, "userType": "Location",
                         "locationId": "loc9", "companyId": "co9", "scope": "contacts.readonly contacts.write", "userId": "u"}
        if form["refresh_token"] not in self.valid_refresh:
            return 401, {"statusCode": 401, "message": "Invalid grant: refresh token is invalid", "error": "Unauthorized"}
        self.n += 1
        new = f"r{self.n + 1}"
        self.valid_refresh = {new}  # single-use refresh tokens (rotation)
        return 200, {"access_token": f"a{self.n + 1}", "refresh_token": new, "expires_in": 86399}


@pytest.fixture
def server(settings):
    settings.SSRF_ALLOW_LOOPBACK = True
    s = TokenServer()
    yield s
    s.http.shutdown()
    s.http.server_close()


def expired(server, refresh="r1"):
    server.valid_refresh = {refresh}
    return FakeCredentials("oauth2", {"access_token": "a1", "refresh_token": refresh, "expires_at": time.time() - 5,
                                      "client_secret": "sec"},
                           {"base_url": server.url, "client_id": "cid", "user_type": "Location"})


def test_authorize_urls():
    url = oauth.authorize_url("cid", "https://flow.example/cb", ["contacts.readonly", "contacts.write"], state="s1")
    assert url.startswith("https://marketplace.gohighlevel.com/v2/oauth/chooselocation?response_type=code")
    assert "scope=contacts.readonly+contacts.write" in url and "state=s1" in url
    white = oauth.authorize_url("cid", "https://x/cb", [], white_label=True, open_in_same_window=True)
    assert white.startswith("https://marketplace.leadconnectorhq.com/v2/oauth/chooselocation?") and "loginWindowOpenMode=self" in white


def test_code_exchange(server):
    got = oauth.exchange_code("good-code", "cid", "sec", "https://x/cb", base_url=server.url, client=SafeClient(allow_loopback=True))
    path, form, headers = server.calls[0]
    assert path == "/oauth/token" and headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Version" not in headers and "Authorization" not in headers
    assert form == {"client_id": "cid", "client_secret": "sec", "grant_type": "authorization_code", "code": "good-code",
                    "user_type": "Location", "redirect_uri": "https://x/cb"}
    assert got["secrets"]["access_token"] == "a1" and got["secrets"]["refresh_token"] == "r1"
    assert got["config"]["location_id"] == "loc9" and got["config"]["company_id"] == "co9"
    with pytest.raises(auth.OAuthError) as caught:
        oauth.exchange_code("bad", "cid", "sec", "https://x/cb", base_url=server.url, client=SafeClient(allow_loopback=True))
    assert caught.value.error == "invalid_grant"


def test_refresh_before_expiry_saves_rotated_token(server):
    creds = expired(server)
    headers = {}
    auth.bearer(creds, headers, refresher=oauth.refresh)
    assert headers["Authorization"] == "Bearer a2"
    assert creds.secrets()["refresh_token"] == "r2" and creds.secrets()["expires_at"] > time.time() + 86000
    assert server.calls[0][1]["grant_type"] == "refresh_token" and server.calls[0][1]["user_type"] == "Location"
    auth.bearer(creds, headers, refresher=oauth.refresh)  # still valid: no second call
    assert len(server.calls) == 1
    creds._secrets["expires_at"] = time.time() + 60  # within the skew: refresh early, with the rotated token
    auth.bearer(creds, headers, refresher=oauth.refresh)
    assert server.calls[1][1]["refresh_token"] == "r2" and creds.secrets()["refresh_token"] == "r3"


def test_concurrent_refresh_makes_one_provider_call(server):
    creds = expired(server)
    tokens, failures = [], []

    def worker():
        try:
            h = {}
            auth.bearer(creds, h, refresher=oauth.refresh)
            tokens.append(h["Authorization"])
        except Exception as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and len(server.calls) == 1 and set(tokens) == {"Bearer a2"}


def test_invalid_grant_marks_needs_reauth(server):
    creds = expired(server, refresh="revoked")
    server.valid_refresh = {"something-else"}
    with pytest.raises(errors.StepError) as caught:
        auth.bearer(creds, {}, refresher=oauth.refresh)
    assert caught.value.category == errors.AUTH and not caught.value.retryable
    assert "Reconnect" in caught.value.message and creds.reauth == caught.value.message


def test_location_token_from_agency_token(server):
    agency = FakeCredentials("api_key", {"api_key": "agency-pit"}, {"base_url": server.url, "company_id": "co9"})
    got = oauth.location_token(agency, "loc7", client=SafeClient(allow_loopback=True))
    path, form, headers = server.calls[0]
    assert path == "/oauth/locationToken" and form == {"companyId": "co9", "locationId": "loc7"}
    assert headers["Version"] == "2021-07-28" and headers["Authorization"] == "Bearer agency-pit"
    assert got["access_token"] == "loc-token" and got["location_id"] == "loc7"

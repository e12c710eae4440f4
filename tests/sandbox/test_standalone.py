"""``manage.py sandbox --port N`` as a real subprocess: same API at the root of its own port."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.e2e
def test_standalone_sandbox_server(tmp_path):
    env = {**os.environ, "FLOWLINE_DATA_DIR": str(tmp_path), "FLOWLINE_SANDBOX": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run(manage + ["migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    out = subprocess.run(manage + ["sandbox_reset"], env=env, check=True, cwd=ROOT, capture_output=True, text=True).stdout
    location_id = out.split()[0]
    token = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("Location "))
    port = _free_port()
    proc = subprocess.Popen(manage + ["sandbox", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(base + "/contacts/", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
        resp = httpx.get(base + "/contacts/", params={"locationId": location_id, "limit": 5}, headers=headers)
        assert resp.status_code == 200 and len(resp.json()["contacts"]) == 5
        assert resp.headers["X-RateLimit-Max"] == "100"
        created = httpx.post(base + "/contacts/", json={"locationId": location_id, "firstName": "Sol"}, headers=headers)
        assert created.status_code == 201
        assert httpx.get(base + "/contacts/" + created.json()["contact"]["id"], headers=headers).status_code == 200
        assert httpx.get(base + "/contacts/", params={"locationId": location_id}).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)

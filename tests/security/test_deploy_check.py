"""Production settings: `manage.py check --deploy` is clean, and production refuses to start without a real
SECRET_KEY and encryption key."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def _manage(tmp_path, *args, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "FLOWLINE_", "DATABASE_URL", "REDIS_URL"))
            and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}  # a browser test's leftover must not fail the deploy check
    base.update({"DJANGO_SETTINGS_MODULE": "automations.settings", "FLOWLINE_DATA_DIR": str(tmp_path)})
    base.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True,
                          timeout=120)


def _production(**extra):
    return {"FLOWLINE_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(64),
            "FLOWLINE_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "FLOWLINE_ALLOWED_HOSTS": "x.example.com", **extra}


def test_check_deploy_is_clean_in_production(tmp_path):
    out = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **_production())
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues" in out.stdout, out.stdout + out.stderr


def test_production_settings_are_secure(tmp_path):
    code = ("from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS > 0, s.SANDBOX_ENABLED, s.SSRF_ALLOW_LOOPBACK)")
    out = _manage(tmp_path, "shell", "-c", code, **_production())
    assert out.stdout.split()[-7:] == ["False", "True", "True", "True", "True", "False", "False"], out.stdout + out.stderr


def test_production_refuses_without_a_real_secret_key(tmp_path):
    for bad in ({"SECRET_KEY": ""}, {"SECRET_KEY": "short"},
                {"SECRET_KEY": "dev-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"}):
        out = _manage(tmp_path, "check", **_production(**bad))
        assert out.returncode != 0 and "needs a real SECRET_KEY" in out.stderr, out.stderr[-500:]


def test_production_refuses_without_an_encryption_key(tmp_path):
    for bad in ({"FLOWLINE_ENCRYPTION_KEYS": ""}, {"FLOWLINE_ENCRYPTION_KEYS": "ZmxvdWxpbmUtZGV2LW9ubHktZW5jcnlwdGlvbi1rZXk="}):
        out = _manage(tmp_path, "check", **_production(**bad))
        assert out.returncode != 0 and "needs FLOWLINE_ENCRYPTION_KEYS" in out.stderr, out.stderr[-500:]


def test_an_invalid_encryption_key_is_a_clear_error(tmp_path):
    out = _manage(tmp_path, "check", "--database", "default", **_production(FLOWLINE_ENCRYPTION_KEYS="not-a-key"))
    assert out.returncode != 0 and "invalid Fernet key" in (out.stdout + out.stderr)

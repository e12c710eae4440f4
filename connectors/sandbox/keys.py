"""Sandbox webhook signing keys. Generated once per install and kept in the database; Flowline
trusts their public halves for *sandbox* connections only (never for real GoHighLevel ones)."""
import base64

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from django.db import IntegrityError

from .models import SandboxKey

_ENC = serialization.Encoding.PEM


def _generate(name: str):
    if name == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = key.private_bytes(_ENC, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    pub = key.public_key().public_bytes(_ENC, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return priv, pub


def _row(name: str) -> SandboxKey:
    row = SandboxKey.objects.filter(name=name).first()
    if row is None:
        priv, pub = _generate(name)
        try:
            row = SandboxKey.objects.create(name=name, private_pem=priv, public_pem=pub)
        except IntegrityError:  # another process won the race
            row = SandboxKey.objects.get(name=name)
    return row


def _private(name: str):
    return serialization.load_pem_private_key(_row(name).private_pem.encode(), password=None)


def public_keys() -> dict:
    """``{"ed25519": PEM, "rsa": PEM}``: verify X-GHL-Signature / x-wh-signature of sandbox events."""
    return {name: _row(name).public_pem for name in ("ed25519", "rsa")}


def sign(body: bytes) -> dict:
    """The two signature headers GoHighLevel sends, computed over the raw body."""
    ed = _private("ed25519").sign(body)
    rs = _private("rsa").sign(body, padding.PKCS1v15(), hashes.SHA256())
    return {"X-GHL-Signature": base64.b64encode(ed).decode(), "x-wh-signature": base64.b64encode(rs).decode()}

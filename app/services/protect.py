"""Mobile numbers as personal data: stored encrypted, found by a keyed hash, shown masked.

One secret, ``SMS_DATA_KEY``, gives two keys (HKDF-SHA256 with different ``info``):

- a Fernet key (AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package) for the
  cipher text: only the sending job reads a number back, to hand it to the gateway;
- an HMAC-SHA256 key for the lookup key: a reply's sender is hashed the same way, so it
  finds its surveys and the opt-out list with an index, without any number being decrypted
  or stored in plain text. Keyed, so a leaked table cannot be reversed by hashing every
  mobile number (there are only ~10^10 of them).

Losing SMS_DATA_KEY makes stored numbers unreadable (surveys not yet sent cannot go) and
breaks the matching of replies to earlier surveys; keep it with the database's backups.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..domain.survey import mask_msisdn

KEY_FILE = "sms_data_key"
MIN_KEY_LENGTH = 16


@dataclass(frozen=True)
class ProtectedNumber:
    """What is stored of a mobile number: cipher text, lookup key, masked form."""

    cipher: str
    key: str
    masked: str


class NumberVault:
    """Encrypts, decrypts and keys mobile numbers (E.164 digits, ``services.mobiles.msisdn``)."""

    def __init__(self, secret: str) -> None:
        if not secret or len(secret) < MIN_KEY_LENGTH:
            raise ValueError(f"SMS_DATA_KEY must be at least {MIN_KEY_LENGTH} characters")
        material = secret.encode()
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(material, b"hallq sms number cipher")))
        self._lookup = _derive(material, b"hallq sms number lookup")

    def protect(self, msisdn: str) -> ProtectedNumber:
        return ProtectedNumber(
            self._fernet.encrypt(msisdn.encode()).decode("ascii"), self.key(msisdn), mask_msisdn(msisdn)
        )

    def key(self, msisdn: str) -> str:
        """The lookup key: the same number always gives the same key (hex, 64 characters)."""
        return hmac.new(self._lookup, msisdn.encode(), hashlib.sha256).hexdigest()

    def reveal(self, cipher: str) -> str:
        """The number back from its cipher text; ValueError if it was made with another key."""
        try:
            return self._fernet.decrypt(cipher.encode("ascii")).decode()
        except InvalidToken:
            raise ValueError("this number was protected with another SMS_DATA_KEY") from None


def _derive(material: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)


def instance_key(instance: Path) -> str:
    """A persistent random key for the embedded default (like SECRET_KEY), made once in the instance folder."""
    path = instance / KEY_FILE
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()

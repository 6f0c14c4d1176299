"""Encryption of tokens and PKCE verifiers at rest (Fernet, several keys for rotation)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from botperms.store.errors import TokenDecryptError


def new_key() -> str:
    """A fresh Fernet key (url-safe base64 text), for `BOTPERMS_TOKEN_KEYS`."""
    return Fernet.generate_key().decode("ascii")


class TokenCipher:
    """Encrypts with the first key, decrypts with any of them.

    Rotation: put a new key first and keep the old ones after it; everything still decrypts,
    and `rotate` (or `Store.reencrypt_tokens`) moves ciphertexts to the new key so the old one
    can be dropped later.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        if isinstance(keys, str):
            # A lone string would be iterated character by character; fail clearly instead.
            raise TypeError("TokenCipher takes a sequence of keys, not a single string")
        if not keys:
            raise ValueError("TokenCipher needs at least one key")
        fernets: list[Fernet] = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                # The key itself is never echoed back.
                raise ValueError(
                    f"token key #{position} is not a valid Fernet key "
                    "(32 url-safe base64-encoded bytes)"
                ) from None
        self._fernet = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise TokenDecryptError() from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the first key (a no-op in meaning, a new ciphertext in bytes)."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise TokenDecryptError() from None

    def __repr__(self) -> str:
        return "TokenCipher(<keys hidden>)"

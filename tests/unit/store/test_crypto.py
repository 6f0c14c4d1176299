from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from botperms.store import TokenCipher, TokenDecryptError, new_key

TOKEN = "EAAB-user-token-ünïcode"


def test_round_trip_and_ciphertext_hides_the_token() -> None:
    cipher = TokenCipher([new_key()])
    ciphertext = cipher.encrypt(TOKEN)
    assert TOKEN not in ciphertext
    assert cipher.decrypt(ciphertext) == TOKEN
    assert cipher.encrypt(TOKEN) != ciphertext  # random IV: equal tokens do not look equal


def test_old_key_second_still_decrypts_and_rotate_moves_to_the_first() -> None:
    old, new = new_key(), new_key()
    old_ciphertext = TokenCipher([old]).encrypt(TOKEN)
    both = TokenCipher([new, old])
    assert both.decrypt(old_ciphertext) == TOKEN
    rotated = both.rotate(old_ciphertext)
    assert TokenCipher([new]).decrypt(rotated) == TOKEN
    with pytest.raises(TokenDecryptError):
        TokenCipher([old]).decrypt(rotated)
    # What a new-first cipher encrypts is under the new key.
    assert Fernet(new.encode()).decrypt(both.encrypt(TOKEN).encode()).decode() == TOKEN


def test_decrypt_errors_never_echo_input_or_keys() -> None:
    key = new_key()
    ciphertext = TokenCipher([new_key()]).encrypt(TOKEN)
    for bad in (ciphertext, "not-a-fernet-token", "ünïcode"):
        with pytest.raises(TokenDecryptError) as raised:
            TokenCipher([key]).decrypt(bad)
        assert bad not in str(raised.value)
        assert key not in str(raised.value)
        assert raised.value.__cause__ is None
    with pytest.raises(TokenDecryptError):
        TokenCipher([key]).rotate(ciphertext)


def test_bad_key_configuration_is_explained_without_the_key() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        TokenCipher([])
    with pytest.raises(TypeError, match="sequence of keys"):
        TokenCipher(new_key())
    with pytest.raises(ValueError, match="#2 is not a valid Fernet key") as raised:
        TokenCipher([new_key(), "short-secret"])
    assert "short-secret" not in str(raised.value)
    assert "keys hidden" in repr(TokenCipher([new_key()]))

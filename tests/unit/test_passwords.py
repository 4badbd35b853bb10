"""Password hashing without the web framework: stdlib scrypt in Werkzeug's stored form."""
import pytest
from werkzeug.security import check_password_hash, generate_password_hash

from services.security.passwords import check_password, hash_password


def test_a_hash_verifies_only_its_password_and_is_salted():
    stored = hash_password("pässwörd")
    assert stored.startswith("scrypt:32768:8:1$")
    assert check_password(stored, "pässwörd")
    assert not check_password(stored, "pässword")
    assert hash_password("pässwörd") != stored


def test_hashes_written_by_earlier_releases_still_verify():
    """Earlier releases stored Werkzeug's hashes (scrypt; pbkdf2 was its older default)."""
    for method in ("scrypt", "pbkdf2"):
        stored = generate_password_hash("s3cret", method=method)
        assert check_password(stored, "s3cret") and not check_password(stored, "s3cret!")
    assert check_password_hash(hash_password("s3cret"), "s3cret")      # and the other way round


@pytest.mark.parametrize("stored", ["", "garbage", "scrypt:x:y:z$salt$00", "md5$salt$00", "scrypt$salt", None])
def test_a_malformed_stored_hash_never_matches_and_never_raises(stored):
    assert check_password(stored, "anything") is False

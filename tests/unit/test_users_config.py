"""Users, password hashing, first admin, and configuration from the environment."""
from pathlib import Path

import pytest
from sqlalchemy import text

from services.config import Config, ConfigError, load_or_create_secret_key
from services.security.users import UserError, UserStore


@pytest.fixture
def users(database):
    return UserStore(database)


def test_passwords_are_hashed_and_checked(users):
    users.create("ann", "correct horse", role="analyst")
    row = users.db.query("SELECT password_hash FROM users WHERE username='ann'")[0]
    assert "correct horse" not in row["password_hash"] and row["password_hash"].startswith("scrypt:")
    assert users.authenticate("ann", "correct horse").role == "analyst"
    assert users.authenticate("ann", "wrong") is None
    assert users.authenticate("nobody", "correct horse") is None


def test_disabled_users_cannot_log_in(users):
    user = users.create("bob", "password123")
    with users.db.connect() as conn:
        conn.execute(text("UPDATE users SET active = 0 WHERE id = :id"), {"id": user.id})
    assert users.authenticate("bob", "password123") is None
    assert users.get(user.id).is_active is False


@pytest.mark.parametrize("username, password, role", [
    ("", "password123", "admin"), ("x" * 65, "password123", "admin"),
    ("carl", "short", "admin"), ("carl", "password123", "root"),
])
def test_invalid_users_are_refused(users, username, password, role):
    with pytest.raises(UserError):
        users.create(username, password, role=role)


def test_duplicate_username_is_refused(users):
    users.create("dana", "password123")
    with pytest.raises(UserError, match="already exists"):
        users.create("dana", "password456")


def test_first_admin_is_created_once_with_generated_password(users):
    generated = users.ensure_admin("admin", None)
    assert generated and users.authenticate("admin", generated).is_admin
    assert users.ensure_admin("admin", "another-password") is None   # an existing admin is left alone
    assert users.authenticate("admin", generated)


def test_config_from_env_defaults_and_overrides():
    c = Config.from_env({})
    assert (c.host, c.port, c.data_dir, c.admin_username, c.simulator) == ("127.0.0.1", 8050, Path("instance"), "admin", True)
    assert "http://127.0.0.1:8050" in c.own_origins and "http://localhost:8050" in c.own_origins
    c = Config.from_env({"PORT": "9000", "SIMULATOR": "off", "SIM_RATE": "12.5",
                         "ALLOWED_ORIGINS": "https://a.example/, https://b.example"})
    assert c.port == 9000 and c.simulator is False and c.sim_rate == 12.5
    assert c.allowed_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize("env, name", [({"PORT": "http"}, "PORT"), ({"SIMULATOR": "maybe"}, "SIMULATOR"),
                                       ({"SIM_RATE": "-1"}, "SIM_RATE")])
def test_bad_config_names_the_variable(env, name):
    with pytest.raises(ConfigError, match=name):
        Config.from_env(env)


def test_secret_key_is_generated_once_and_kept(tmp_path):
    config = Config(data_dir=tmp_path)
    key = load_or_create_secret_key(config)
    assert len(key) == 64 and load_or_create_secret_key(config) == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret_key(Config(data_dir=tmp_path, secret_key="explicit")) == "explicit"

"""Sign-in for the Streamlit app: users and roles from a TOML file, salted scrypt/PBKDF2 hashes.

Why a file and not the database: the app must be usable (and testable) before any identity
provider is wired in, and the users file is configuration an operator can review in git. Only
hashes are stored; `python -m streamlit_app.auth hash` prints a hash for a new password.

File format (path from MCS_APP_USERS_FILE, default streamlit_app/users.toml):

    [users.olivia]
    name = "Olivia (NOC operator)"
    role = "operator"                       # operator | analyst | finance | admin
    password_hash = "scrypt$16384$8$1$<salt hex>$<hash hex>"
    sites = ["ab-baldwinsville"]            # optional: restrict the fleet this user sees

Roles decide which pages a user sees (`PAGES_BY_ROLE` in app.py) and whether they may act:
only operators and admins acknowledge/shelve alarms or send commands (`can_act`). The alarm
actions module enforces the same rule again on the server side (ActionRefused).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROLES = ("operator", "analyst", "finance", "admin")
ACTING_ROLES = frozenset({"operator", "admin"})
DEFAULT_USERS_FILE = Path(__file__).resolve().parent / "users.toml"


class AppSettings(BaseSettings):
    """The app's own settings (env prefix MCS_APP_); the platform's stay in mcs.settings."""

    model_config = SettingsConfigDict(env_prefix="MCS_APP_", extra="ignore")

    users_file: Path = Field(default=DEFAULT_USERS_FILE, description="TOML users file with hashed passwords")
    dagster_url: str | None = Field(default=None, description="Dagster UI linked from Reports; default "
                                    "http://127.0.0.1:<MCS_DAGSTER_PORT, 3000>")
    live_refresh_s: float = Field(default=5.0, description="Live NOC refresh period (st.fragment run_every)")


def app_settings() -> AppSettings:
    settings = AppSettings()
    if settings.dagster_url is None:
        from mcs.settings import Settings

        settings.dagster_url = f"http://127.0.0.1:{Settings().dagster_port}"
    return settings


@dataclass(frozen=True)
class User:
    username: str
    name: str
    role: str
    sites: tuple[str, ...] = field(default_factory=tuple)   # empty = every site

    @property
    def can_act(self) -> bool:
        return can_act(self.role)

    def sees_site(self, site_id: str) -> bool:
        return not self.sites or site_id in self.sites


def can_act(role: str | None) -> bool:
    """Only operators and admins acknowledge or shelve alarms and send commands."""
    return role in ACTING_ROLES


class UsersFileError(ValueError):
    """The users file is missing or invalid; the message names the file and the problem."""


# -- hashing --------------------------------------------------------------------------------------
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check against `scrypt$n$r$p$salt$hash` or `pbkdf2_sha256$iterations$salt$hash`."""
    parts = stored.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt, expected = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
            digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected))
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            iterations, salt, expected = int(parts[1]), bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
            digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, dklen=len(expected))
        else:
            return False
    except ValueError:
        return False
    return hmac.compare_digest(digest, expected)


# -- users file -----------------------------------------------------------------------------------
def load_users(path: Path) -> dict[str, tuple[User, str]]:
    """username -> (User, password hash). Raises UsersFileError naming the file and the entry."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsersFileError(f"users file {path} not found (set MCS_APP_USERS_FILE)") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsersFileError(f"users file {path}: {exc}") from None
    users: dict[str, tuple[User, str]] = {}
    for username, entry in (data.get("users") or {}).items():
        role = entry.get("role")
        if role not in ROLES:
            raise UsersFileError(f"users file {path}: user {username!r}: role {role!r} is not one of {ROLES}")
        pw_hash = entry.get("password_hash")
        if not isinstance(pw_hash, str) or "$" not in pw_hash:
            raise UsersFileError(f"users file {path}: user {username!r}: password_hash missing")
        sites = tuple(entry.get("sites") or ())
        users[username] = (User(username, entry.get("name") or username, role, sites), pw_hash)
    if not users:
        raise UsersFileError(f"users file {path} defines no [users.<name>] entries")
    return users


def authenticate(path: Path, username: str, password: str) -> User | None:
    entry = load_users(path).get(username.strip())
    if entry is None:
        # Spend the same time as a real check so user names cannot be probed by timing.
        verify_password(password, hash_password("x", salt=b"0" * 16))
        return None
    user, stored = entry
    return user if verify_password(password, stored) else None


def main(argv: list[str]) -> int:
    """`python -m streamlit_app.auth hash [PASSWORD]` prints a scrypt hash for the users file."""
    if len(argv) >= 1 and argv[0] == "hash":
        import getpass

        password = argv[1] if len(argv) > 1 else getpass.getpass("password: ")
        print(hash_password(password))
        return 0
    print("usage: python -m streamlit_app.auth hash [PASSWORD]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

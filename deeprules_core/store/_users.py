"""Who is acting: the signed-in user the store scopes every query by.

The app resolves the user (local mode: the operating-system user, an admin of their own
laptop; OIDC or a proxy header on a lab server) and opens the workspace as them; the
command line is the operating-system user; a job runs as the user who submitted it.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from ..errors import StoreError

__all__ = ["ROLES", "SHARE_ROLES", "User", "os_user", "as_user"]

ROLES = ("user", "admin")
SHARE_ROLES = ("viewer", "editor")


def os_user() -> str:
    """The operating-system user's name ("unknown" when the system cannot tell)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class User:
    """A person using deeprules: a name (as the sign-in gives it) and a role.

    ``admin`` sees every study and may reassign one to another user; ``user`` sees their
    own studies and those shared with them.

    Examples
    --------
    >>> User("alice").role
    'user'
    >>> User.local().role
    'admin'
    """

    name: str
    role: str = "user"

    def __post_init__(self) -> None:
        name = (self.name or "").strip()
        if not name:
            raise StoreError("A user needs a name (the sign-in gave an empty one); sign in again.")
        if len(name) > 320:
            raise StoreError("A user name is at most 320 characters (an e-mail address fits).")
        if self.role not in ROLES:
            raise StoreError(f"A user's role is one of {ROLES}; got {self.role!r}.")
        object.__setattr__(self, "name", name)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def local(cls) -> User:
        """The operating-system user, admin of their own workspace (local mode, command line)."""
        return cls(os_user(), "admin")


def as_user(user: User | str | None) -> User:
    """A :class:`User` from a User, a plain name (role ``user``) or None (:meth:`User.local`)."""
    if user is None:
        return User.local()
    if isinstance(user, User):
        return user
    if isinstance(user, str):
        return User(user)
    raise StoreError(f"A user is a deeprules User or a name; got {type(user).__name__}.")

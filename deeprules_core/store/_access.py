"""The one choke point of who may do what: every store query goes through these.

A user sees a study they own, one shared with them (viewer or editor), or any study
when they are an admin. Someone else's study is *not found* for them, even by its id
(its existence is not confirmed); a study they may see but not change is *forbidden*.
A dataset is visible to its owner and to whoever may see a study that uses it.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, and_, or_, select, true, union

from ..errors import ForbiddenError, NotFoundError
from . import _schema as T
from ._users import User

__all__ = ["Need", "AccessMixin"]

Need = Literal["read", "edit", "export", "own"]
#: what each relation to a study allows (a viewer reads it on screen; taking its data,
#: results or models out of deeprules is for those who may work on it)
ALLOWS: dict[str, tuple[str, ...]] = {
    "admin": ("read", "edit", "export", "own"),
    "owner": ("read", "edit", "export", "own"),
    "editor": ("read", "edit", "export"),
    "viewer": ("read",),
}
DOING = {
    "read": "open",
    "edit": "change or run",
    "export": "export (its data, results or models leave deeprules)",
    "own": "delete, share or hand over",
}


class AccessMixin:
    user: User
    connect: Any  # provided by Workspace

    # ------------------------------------------------------------------ clauses
    def visible_studies(self) -> ColumnElement[bool]:
        """WHERE clause on ``studies``: the studies this user may see."""
        if self.user.is_admin:
            return true()
        shared = select(T.study_shares.c.study_id).where(T.study_shares.c.grantee == self.user.name)
        return or_(T.studies.c.owner == self.user.name, T.studies.c.id.in_(shared))

    def visible_study_ids(self) -> Any:
        """SELECT of the ids of the live studies this user may see (for ``in_``)."""
        return select(T.studies.c.id).where(self.visible_studies(), T.studies.c.deleted.is_(False))

    def visible_datasets(self) -> ColumnElement[bool]:
        """WHERE clause on ``datasets``: own datasets and those of visible studies."""
        if self.user.is_admin:
            return true()
        used = select(T.study_datasets.c.dataset_id).where(
            T.study_datasets.c.study_id.in_(self.visible_study_ids())
        )
        return or_(T.datasets.c.owner == self.user.name, T.datasets.c.id.in_(used))

    def visible_jobs(self) -> ColumnElement[bool]:
        """WHERE clause on ``jobs``: own jobs and those of visible studies."""
        if self.user.is_admin:
            return true()
        return or_(T.jobs.c.owner == self.user.name, T.jobs.c.study_id.in_(self.visible_study_ids()))

    # ------------------------------------------------------------------ checks
    def relation(self, c: Connection, study_id: str) -> tuple[Any, str | None]:
        """(studies row or None, this user's relation to it: admin owner editor viewer, or None)."""
        row = c.execute(select(T.studies).where(T.studies.c.id == study_id)).first()
        if row is None:
            return None, None
        if row.owner == self.user.name:  # an admin's own study is theirs, not "seen as admin"
            return row, "owner"
        if self.user.is_admin:
            return row, "admin"
        share = c.execute(
            select(T.study_shares.c.role).where(
                and_(T.study_shares.c.study_id == study_id, T.study_shares.c.grantee == self.user.name)
            )
        ).first()
        return row, (share.role if share else None)

    def check_study(
        self,
        c: Connection,
        study_id: str,
        need: Need = "read",
        *,
        missing_ok: bool = False,
        deleted_ok: bool = False,
    ) -> Any:
        """The study's row when this user may ``need`` it; else NotFoundError / ForbiddenError.

        With ``missing_ok``, a study id not saved yet returns None (artifacts and log lines
        written while a new study is being set up); with ``deleted_ok`` a deleted study's
        history stays readable by those who could read it.
        """
        row, rel = self.relation(c, study_id)
        if row is None and missing_ok:
            return None
        if row is None or rel is None or (row.deleted and not deleted_ok):
            raise NotFoundError(
                f"There is no study with id {study_id!r} that you ({self.user.name}) can open: it does "
                "not exist, was deleted, or was not shared with you. Ask its owner to share it."
            )
        if need not in ALLOWS[rel]:
            raise ForbiddenError(
                f"You ({self.user.name}) are {'a viewer' if rel == 'viewer' else 'an ' + rel} of the study "
                f"{row.name!r} and cannot {DOING[need]} it. Ask its owner ({row.owner}) for "
                + ("editor access." if need in ("edit", "export") else "this.")
            )
        return row

    def access(self, study_id: str, need: Need = "read") -> str:
        """This user's relation to a study: ``owner``, ``editor``, ``viewer`` or ``admin``.

        Raises NotFoundError when they may not open it, ForbiddenError when they may open
        it but not ``need`` it (``edit``: change or run; ``export``; ``own``: delete,
        share, hand over).

        Examples
        --------
        >>> import tempfile
        >>> from deeprules_core.store import Workspace
        >>> alice = Workspace(tempfile.mkdtemp(), user="alice")
        >>> study = alice.create_study("Mine")
        >>> alice.share_study(study.id, "bob", "viewer")
        >>> alice.access(study.id), alice.as_user("bob").access(study.id)
        ('owner', 'viewer')
        """
        with self.connect() as c:
            self.check_study(c, study_id, need)
            _, rel = self.relation(c, study_id)
        return str(rel)

    def known_users(self) -> list[str]:
        """Names of everyone this workspace knows: who has signed in or acted (the audit
        log), owns a study or has one shared with them. For sharing a study by name."""
        q = union(
            select(T.audit_log.c.actor.label("name")),
            select(T.studies.c.owner.label("name")),
            select(T.study_shares.c.grantee.label("name")),
        )
        with self.connect() as c:
            names = {str(n) for n in c.execute(q).scalars()}
        return sorted(names, key=str.casefold)

    def check_dataset(self, c: Connection, dataset_id: str) -> Any:
        """The dataset's row when this user may see it; else NotFoundError."""
        row = c.execute(
            select(T.datasets).where(T.datasets.c.id == dataset_id, self.visible_datasets())
        ).first()
        if row is None:
            raise NotFoundError(
                f"There is no dataset with id {dataset_id!r} that you ({self.user.name}) can open: "
                "it does not exist or belongs to a study not shared with you."
            )
        return row

"""Studies in the store: versioned saves with optimistic concurrency, sharing, ownership.

A save states the version it was based on (``Study.version``, set by every read and
save). When the study is still at that version the save lands; when someone saved in
between, an independent change (another field, or steps added on both sides) is merged
onto the newest version, and a change to the same part is refused with
:class:`~deeprules_core.errors.ConflictError`. Either way nothing is lost silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from ..errors import ConflictError, ForbiddenError, NotFoundError, StoreError
from ..study import Study, utcnow
from . import _schema as T
from ._users import SHARE_ROLES, as_user
from ._versions import plan_save, split_record

__all__ = ["StudiesMixin"]

ST, SV, SS = T.studies, T.study_versions, T.study_steps


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, allow_nan=False)


class StudiesMixin:
    # provided by Workspace / AccessMixin
    user: Any
    home: Any
    transaction: Any
    connect: Any
    check_study: Any
    check_dataset: Any
    visible_studies: Any
    _log: Any

    def create_study(self, name: str, **kwargs: Any) -> Study:
        """A new study owned by this user (saved as version 1)."""
        return self.save_study(Study.new(name, **kwargs), action="create_study")

    # ------------------------------------------------------------------ reading
    @staticmethod
    def _live_steps(c: Connection, study_id: str, at: int | None = None) -> list[dict[str, Any]]:
        q = select(SS.c.record).where(SS.c.study_id == study_id)
        if at is None:
            q = q.where(SS.c.removed_in.is_(None))
        else:
            q = q.where(SS.c.added_in <= at, or_(SS.c.removed_in.is_(None), SS.c.removed_in > at))
        return [json.loads(r.record) for r in c.execute(q.order_by(SS.c.pos)).all()]

    @staticmethod
    def _study(study_id: str, fields: Mapping[str, Any], steps: list[Any], version: int) -> Study:
        rec = dict(fields)
        rec.update(id=study_id, steps=steps)
        return replace(Study.from_dict(rec), version=version)

    def get_study(self, study_id: str) -> Study:
        """The newest version of a study this user may open (else NotFoundError)."""
        with self.connect() as c:
            row = self.check_study(c, study_id, "read")
            # the steps of that version, even if someone saved since (PostgreSQL reads each
            # statement afresh): record and steps always agree
            steps = self._live_steps(c, study_id, at=row.version)
        return self._study(study_id, json.loads(row.record), steps, row.version)

    def list_studies(self) -> list[dict[str, Any]]:
        """Live studies this user may see, most recently changed first: id, name,
        created_at, updated_at, owner, and ``access``, this user's relation to it
        (``owner``; ``editor`` or ``viewer`` when it was shared with them; ``admin`` for
        someone else's study that an admin sees)."""
        mine = T.study_shares.c.grantee == self.user.name
        with self.connect() as c:
            rows = c.execute(
                select(
                    ST.c.id, ST.c.name, ST.c.created_at, ST.c.updated_at, ST.c.owner, T.study_shares.c.role
                )
                .select_from(ST.outerjoin(T.study_shares, and_(T.study_shares.c.study_id == ST.c.id, mine)))
                .where(ST.c.deleted.is_(False), self.visible_studies())
                .order_by(ST.c.updated_at.desc(), ST.c.name)
            ).all()
        out = []
        for r in rows:
            item = dict(r._mapping)
            role = item.pop("role")
            item["access"] = "owner" if r.owner == self.user.name else role or "admin"
            out.append(item)
        return out

    def study_history(self, study_id: str) -> list[tuple[int, str]]:
        """(version, saved_at) of every saved version, oldest first."""
        with self.connect() as c:
            self.check_study(c, study_id, "read")
            rows = c.execute(
                select(SV.c.version, SV.c.saved_at).where(SV.c.study_id == study_id).order_by(SV.c.version)
            ).all()
        return [(r.version, r.saved_at) for r in rows]

    def study_version(self, study_id: str, version: int) -> Study:
        """The study as it was saved at ``version`` (rebuilt from the deltas)."""
        with self.connect() as c:
            self.check_study(c, study_id, "read")
            rows = c.execute(
                select(SV.c.version, SV.c.record, SV.c.delta)
                .where(SV.c.study_id == study_id, SV.c.version <= version)
                .order_by(SV.c.version)
            ).all()
            if not rows or rows[-1].version != version:
                raise NotFoundError(f"The study {study_id!r} has no version {version}.")
            if rows[-1].record is not None:  # saved before schema 2: the whole record
                return replace(Study.from_dict(json.loads(rows[-1].record)), version=version)
            fields: dict[str, Any] = {}
            for r in rows:
                if r.record is not None:
                    fields, _ = split_record(json.loads(r.record))
                else:
                    fields.update(json.loads(r.delta)["set"])
            steps = self._live_steps(c, study_id, at=version)
        return self._study(study_id, fields, steps, version)

    def _base_value(self, c: Connection, study_id: str, base: int, name: str) -> Any:
        rows = c.execute(
            select(SV.c.record, SV.c.delta)
            .where(SV.c.study_id == study_id, SV.c.version <= base)
            .order_by(SV.c.version.desc())
        )
        for r in rows:
            if r.record is not None:
                return split_record(json.loads(r.record))[0].get(name)
            got = json.loads(r.delta)["set"]
            if name in got:
                return got[name]
        return None

    def _changed_since(self, c: Connection, study_id: str, base: int) -> set[str] | None:
        out: set[str] = set()
        for r in c.execute(
            select(SV.c.record, SV.c.delta).where(SV.c.study_id == study_id, SV.c.version > base)
        ):
            if r.record is not None:
                return None  # an old whole-record save: any field may have changed
            out |= set(json.loads(r.delta)["set"])
        return out

    def _base_steps(self, c: Connection, study_id: str, base: int) -> list[dict[str, Any]]:
        row = c.execute(select(SV.c.record).where(SV.c.study_id == study_id, SV.c.version == base)).first()
        if row is not None and row.record is not None:
            return split_record(json.loads(row.record))[1]
        return self._live_steps(c, study_id, at=base)

    # ------------------------------------------------------------------ saving
    def save_study(
        self,
        study: Study,
        *,
        action: str = "save_study",
        detail: Mapping[str, Any] | None = None,
        actor: str | None = None,
    ) -> Study:
        """Save ``study`` as the next version (only what changed is stored) and log it.

        Returns the saved study, with its new ``version``: keep using the returned object.

        Raises
        ------
        ConflictError
            Someone saved a change to the same part of the study after ``study`` was read.
        NotFoundError, ForbiddenError
            The study is not this user's to change.
        """
        fields, steps = split_record(study.to_dict())
        now = utcnow()
        with self.transaction() as c:
            row = c.execute(select(ST).where(ST.c.id == study.id).with_for_update()).first()
            if row is None:
                if study.version:
                    raise NotFoundError(f"The study {study.name!r} is no longer in this workspace.")
                plan = plan_save({}, [], fields, steps)
                version, owner = 1, self.user.name
                c.execute(
                    insert(ST).values(
                        id=study.id,
                        name=study.name,
                        owner=owner,
                        created_at=study.created_at or now,
                        updated_at=now,
                        version=1,
                        deleted=False,
                        record=_dumps(fields),
                    )
                )
                merged, current_steps = fields, []
            else:
                self.check_study(c, study.id, "edit")
                current = json.loads(row.record)
                current_steps = self._live_steps(c, study.id)
                base = study.version
                if base == row.version:
                    plan = plan_save(current, current_steps, fields, steps)
                elif 0 < base < row.version:
                    plan = plan_save(
                        current,
                        current_steps,
                        fields,
                        steps,
                        stale=True,
                        their_fields=self._changed_since(c, study.id, base),
                        base_value=lambda f: self._base_value(c, study.id, base, f),
                        base_steps=self._base_steps(c, study.id, base),
                    )
                else:
                    plan = plan_save(current, current_steps, fields, steps, stale=True, their_fields=None)
                    plan.conflicts = plan.conflicts or ["version"]
                if plan.conflicts:
                    raise ConflictError(
                        f"Someone else changed the study {row.name!r} (now version {row.version}) after "
                        f"this copy was read (version {base}), and both changed "
                        f"{', '.join(plan.conflicts)}. Nothing was saved: reload the study and make "
                        "the change again.",
                        study_id=study.id,
                        base_version=base,
                        current_version=row.version,
                    )
                version = row.version + 1
                merged = {**current, **plan.set}
                done = c.execute(
                    update(ST)
                    .where(ST.c.id == study.id, ST.c.version == row.version)
                    .values(name=merged["name"], updated_at=now, version=version, record=_dumps(merged))
                )
                if done.rowcount != 1:  # cannot happen under the row lock; refuse rather than lose
                    raise ConflictError(
                        f"The study {row.name!r} changed while it was being saved; reload it and save again.",
                        study_id=study.id,
                        base_version=base,
                        current_version=row.version,
                    )
                if plan.keep < len(current_steps):
                    c.execute(
                        update(SS)
                        .where(SS.c.study_id == study.id, SS.c.removed_in.is_(None), SS.c.pos >= plan.keep)
                        .values(removed_in=version)
                    )
            for i, step in enumerate(plan.append):
                c.execute(
                    insert(SS).values(
                        study_id=study.id,
                        pos=plan.keep + i,
                        added_in=version,
                        removed_in=None,
                        record=_dumps(step),
                    )
                )
            if "datasets" in plan.set:
                self._link_datasets(c, study.id, plan.set["datasets"] or [])
            c.execute(
                insert(SV).values(
                    study_id=study.id,
                    version=version,
                    saved_at=now,
                    delta=_dumps(plan.delta),
                    actor=self.user.name,
                    action=action,
                )
            )
            log_detail = dict(detail or {})
            if plan.merged:
                log_detail["merged_onto_version"] = version - 1
            self._log(c, study.id, action, log_detail, actor)
        return self._study(study.id, merged, [*current_steps[: plan.keep], *plan.append], version)

    def _link_datasets(self, c: Connection, study_id: str, refs: list[Mapping[str, Any]]) -> None:
        have = set(
            c.execute(
                select(T.study_datasets.c.dataset_id).where(T.study_datasets.c.study_id == study_id)
            ).scalars()
        )
        for did in dict.fromkeys(str(r["dataset_id"]) for r in refs):
            if did not in have:
                exists = c.execute(select(T.datasets.c.id).where(T.datasets.c.id == did)).first()
                if exists is not None:
                    self.check_dataset(c, did)  # nobody gains a dataset by naming it in a study
                c.execute(insert(T.study_datasets).values(study_id=study_id, dataset_id=did))

    # ------------------------------------------------------------------ other changes
    def rename_study(self, study_id: str, name: str) -> Study:
        study = self.get_study(study_id).renamed(name)
        return self.save_study(study, action="rename_study", detail={"name": study.name})

    def duplicate_study(self, study_id: str, name: str | None = None) -> Study:
        """A copy (owned by this user) of a study this user may export: a copy takes the
        data and results out of the owner's hands (unsharing would not take it back), so a
        viewer may not make one."""
        with self.connect() as c:
            self.check_study(c, study_id, "export")
        src = self.get_study(study_id)
        fresh = Study.new(name or f"{src.name} (copy)")
        copy = replace(src, id=fresh.id, name=fresh.name, created_at=fresh.created_at, version=0)
        return self.save_study(copy, action="duplicate_study", detail={"from": study_id})

    def delete_study(self, study_id: str, *, confirm: str) -> None:
        """Delete a study (its owner or an admin). ``confirm`` must repeat its name exactly.

        The study disappears from lists; its versions and audit trail stay in the store.
        """
        with self.transaction() as c:
            row = self.check_study(c, study_id, "own")
            if confirm != row.name:
                raise StoreError(
                    f"To delete the study, type its name exactly ({row.name!r}); got {confirm!r}."
                )
            c.execute(update(ST).where(ST.c.id == study_id).values(deleted=True, updated_at=utcnow()))
            self._log(c, study_id, "delete_study", {"name": row.name}, None)

    def share_study(self, study_id: str, grantee: str, role: str = "viewer") -> None:
        """Let ``grantee`` open (viewer) or also change and run (editor) a study."""
        grantee = as_user(grantee).name
        if role not in SHARE_ROLES:
            raise StoreError(f"A study is shared as one of {SHARE_ROLES}; got {role!r}.")
        with self.transaction() as c:
            row = self.check_study(c, study_id, "own")
            if grantee == row.owner:
                raise StoreError(f"{grantee} owns the study {row.name!r} already.")
            c.execute(
                delete(T.study_shares).where(
                    T.study_shares.c.study_id == study_id, T.study_shares.c.grantee == grantee
                )
            )
            c.execute(
                insert(T.study_shares).values(
                    study_id=study_id,
                    grantee=grantee,
                    role=role,
                    granted_by=self.user.name,
                    granted_at=utcnow(),
                )
            )
            self._log(c, study_id, "share_study", {"with": grantee, "role": role}, None)

    def unshare_study(self, study_id: str, grantee: str) -> None:
        with self.transaction() as c:
            self.check_study(c, study_id, "own")
            c.execute(
                delete(T.study_shares).where(
                    and_(T.study_shares.c.study_id == study_id, T.study_shares.c.grantee == grantee)
                )
            )
            self._log(c, study_id, "unshare_study", {"with": grantee}, None)

    def study_shares(self, study_id: str) -> dict[str, str]:
        """{user: viewer|editor} for a study this user may open."""
        with self.connect() as c:
            self.check_study(c, study_id, "read")
            rows = c.execute(select(T.study_shares).where(T.study_shares.c.study_id == study_id)).all()
        return {r.grantee: r.role for r in rows}

    def study_owner(self, study_id: str) -> str:
        with self.connect() as c:
            return str(self.check_study(c, study_id, "read").owner)

    def reassign_study(self, study_id: str, new_owner: str) -> None:
        """Hand a study (its datasets and jobs stay linked to it) to another user: admins only."""
        new_owner = as_user(new_owner).name
        if not self.user.is_admin:
            raise ForbiddenError(
                f"Only an admin can hand a study to another user; you ({self.user.name}) are not one."
            )
        with self.transaction() as c:
            row = self.check_study(c, study_id, "own")
            c.execute(update(ST).where(ST.c.id == study_id).values(owner=new_owner, updated_at=utcnow()))
            c.execute(
                delete(T.study_shares).where(
                    T.study_shares.c.study_id == study_id, T.study_shares.c.grantee == new_owner
                )
            )
            self._log(c, study_id, "reassign_study", {"from": row.owner, "to": new_owner}, None)

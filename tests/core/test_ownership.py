"""Who sees what: a user acts on their own studies and on those shared with them, never on
anyone else's, even by id; an admin sees all and can hand a study over; the audit log
names the signed-in user. Through the engine, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from deeprules_core import jobs
from deeprules_core.errors import DeepRulesError, ForbiddenError, JobError, NotFoundError
from deeprules_core.intake import dataset_info, ingest, list_datasets, load_dataset
from deeprules_core.intake._provenance import Provenance, get_provenance
from deeprules_core.report import export_bundle
from deeprules_core.store import User, Workspace
from deeprules_core.study import Roles

CSV = b"sample,label,g1,g2\n" + b"".join(f"s{i},{'ab'[i % 2]},{i},{i * 2 % 7}\n".encode() for i in range(12))
PROV = dict(
    source="https://example.org/data",
    licence="CC0",
    download_date="2026-11-01",
    version="1",
    description="twelve rows",
    entered_by="bob",
)


@pytest.fixture
def people(any_workspace):
    alice = any_workspace.as_user("alice")
    bob = any_workspace.as_user(User("bob"))
    admin = any_workspace.as_user(User("root", "admin"))
    return alice, bob, admin


@pytest.fixture
def bobs_study(people):
    _, bob, _ = people
    study = bob.create_study("Bob's tumour study")
    study, info = ingest(bob, CSV, name="bob.csv", provenance=Provenance(**PROV), study=study)
    study = bob.save_study(study.with_roles(Roles(id="sample", label="label")), action="set_roles")
    bob.put_json(study.id, "results", "baselines", {"auc": 0.61})
    return study, info


def test_a_user_cannot_list_open_change_export_or_delete_anothers_study(people, bobs_study, tmp_path):
    alice, bob, _ = people
    study, info = bobs_study
    assert [s["id"] for s in bob.list_studies()] == [study.id]
    assert alice.list_studies() == []
    for attempt in (
        lambda: alice.get_study(study.id),
        lambda: alice.study_history(study.id),
        lambda: alice.rename_study(study.id, "mine now"),
        lambda: alice.duplicate_study(study.id),
        lambda: alice.delete_study(study.id, confirm=study.name),
        lambda: alice.save_study(study.with_roles(Roles(label="g1"))),  # even holding the object
        lambda: alice.get_json(study.id, "results", "baselines"),
        lambda: alice.put_json(study.id, "results", "baselines", {"auc": 0.99}),
        lambda: alice.log_test_use(study.id, "0" * 64, "peek"),
        lambda: export_bundle(alice, study, tmp_path / "stolen.zip"),
        lambda: dataset_info(alice, info.id),
        lambda: load_dataset(alice, info.id),
        lambda: get_provenance(alice, info.id),
    ):
        with pytest.raises(NotFoundError):
            attempt()
    assert not (tmp_path / "stolen.zip").exists()
    assert list_datasets(alice) == []
    assert [e for e in alice.audit_log() if e.study_id == study.id] == []
    # nothing of Bob's changed
    assert bob.get_study(study.id).name == "Bob's tumour study"
    assert bob.get_json(study.id, "results", "baselines") == {"auc": 0.61}


def test_a_user_cannot_run_a_job_on_anothers_study_nor_see_bobs_jobs(people, bobs_study):
    alice, bob, _ = people
    study, _ = bobs_study
    with pytest.raises(NotFoundError):
        jobs.submit(alice, target="deeprules_core.jobs:echo_job", kind="echo", study_id=study.id, start=False)
    jid = jobs.submit(bob, target="deeprules_core.jobs:echo_job", kind="echo", study_id=study.id, start=False)
    with pytest.raises(JobError):
        jobs.get_job(alice, jid)
    with pytest.raises(JobError):
        jobs.cancel(alice, jid)
    assert jobs.list_jobs(alice) == [] and [j.id for j in jobs.list_jobs(bob)] == [jid]


def test_a_job_runs_as_the_user_who_submitted_it(people, bobs_study):
    alice, bob, admin = people
    study, _ = bobs_study
    jid = jobs.submit(bob, target="deeprules_core.jobs:echo_job", kind="echo", study_id=study.id, start=False)
    jobs.run_job(admin, jid)  # the worker process opens the store as whoever runs it
    actors = {e.actor for e in bob.audit_log(study.id) if e.action == "job_done"}
    assert actors == {"bob"}


def test_a_viewer_reads_and_an_editor_also_changes_but_neither_deletes(people, bobs_study):
    alice, bob, _ = people
    study, info = bobs_study
    bob.share_study(study.id, "alice", "viewer")
    assert [s["id"] for s in alice.list_studies()] == [study.id]
    seen = alice.get_study(study.id)
    assert load_dataset(alice, info.id).shape == (12, 4)  # the data of a shared study
    assert [d.id for d in list_datasets(alice)] == [info.id]
    with pytest.raises(ForbiddenError, match="viewer"):
        alice.save_study(seen.with_roles(Roles(label="g1")))
    with pytest.raises(ForbiddenError):
        jobs.submit(alice, target="deeprules_core.jobs:echo_job", kind="echo", study_id=study.id, start=False)
    bob.share_study(study.id, "alice", "editor")
    alice.save_study(alice.get_study(study.id).with_roles(Roles(id="sample", label="g1")), action="set_roles")
    assert bob.get_study(study.id).roles.label == "g1"
    for attempt in (
        lambda: alice.delete_study(study.id, confirm=study.name),
        lambda: alice.share_study(study.id, "carol", "viewer"),
    ):
        with pytest.raises(ForbiddenError):
            attempt()
    bob.unshare_study(study.id, "alice")
    with pytest.raises(NotFoundError):
        alice.get_study(study.id)


def test_the_study_list_says_whose_study_and_what_i_may_do(people, bobs_study, tmp_path):
    alice, bob, admin = people
    study, _ = bobs_study
    assert [(s["owner"], s["access"]) for s in bob.list_studies()] == [("bob", "owner")]
    bob.share_study(study.id, "alice", "viewer")
    assert [(s["owner"], s["access"]) for s in alice.list_studies()] == [("bob", "viewer")]
    assert alice.access(study.id) == "viewer" and bob.access(study.id) == "owner"
    assert [s["access"] for s in admin.list_studies()] == ["admin"]
    # a viewer reads on screen but takes nothing out of deeprules
    with pytest.raises(ForbiddenError, match="viewer .* cannot export"):
        export_bundle(alice, alice.get_study(study.id), tmp_path / "viewer.zip")
    with pytest.raises(ForbiddenError):
        alice.access(study.id, "edit")
    assert not (tmp_path / "viewer.zip").exists()
    # nor by copying it into a study of her own, which unsharing would not take back
    with pytest.raises(ForbiddenError, match="viewer .* cannot export"):
        alice.duplicate_study(study.id)
    assert [s["owner"] for s in alice.list_studies()] == ["bob"]
    bob.share_study(study.id, "alice", "editor")
    assert [s["access"] for s in alice.list_studies()] == ["editor"]
    assert export_bundle(alice, alice.get_study(study.id), tmp_path / "editor.zip").exists()
    bob.unshare_study(study.id, "alice")
    with pytest.raises(NotFoundError):
        alice.access(study.id)


def test_known_users_are_who_signed_in_acted_or_was_shared_with(people, bobs_study):
    alice, bob, _ = people
    study, _ = bobs_study
    assert "carol" not in bob.known_users() and "alice" not in bob.known_users()
    alice.as_user("carol").record_sign_in("header")
    bob.share_study(study.id, "dave", "viewer")  # not signed in yet, but named in a share
    assert {"bob", "carol", "dave"} <= set(alice.known_users())
    assert "alice" not in bob.known_users()  # alice has done nothing yet


def test_an_admin_sees_all_and_hands_a_study_over(people, bobs_study):
    alice, bob, admin = people
    study, _ = bobs_study
    alice.create_study("Alice's")
    assert {s["owner"] for s in admin.list_studies()} == {"alice", "bob"}
    with pytest.raises(ForbiddenError, match="admin"):
        bob.reassign_study(study.id, "alice")
    admin.reassign_study(study.id, "alice")
    assert {s["id"] for s in alice.list_studies()} >= {study.id}
    with pytest.raises(NotFoundError):
        bob.get_study(study.id)
    assert admin.audit_log(study.id)[-1].detail == {"from": "bob", "to": "alice"}


def test_the_audit_log_names_the_signed_in_user(people, bobs_study):
    alice, bob, _ = people
    study, _ = bobs_study
    bob.share_study(study.id, "alice", "editor")
    alice.rename_study(study.id, "Renamed by Alice")
    log = bob.audit_log(study.id)
    assert [(e.action, e.actor) for e in log if e.action in ("create_study", "rename_study")] == [
        ("create_study", "bob"),
        ("rename_study", "alice"),
    ]
    ingest_line = next(e for e in log if e.action == "ingest_dataset")
    assert ingest_line.actor == "bob" and ingest_line.detail.get("entered_by") is None  # bob typed it


def test_the_local_default_is_the_os_user_as_admin(tmp_path, db_url):
    ws = Workspace(tmp_path, db_url=db_url)
    assert ws.user == User.local() and ws.user.is_admin
    study = ws.create_study("Mine")
    assert ws.study_owner(study.id) == User.local().name
    # the pages would otherwise tell the laptop's only user "you see it as an admin"
    assert ws.access(study.id) == "owner" and ws.list_studies()[0]["access"] == "owner"


@pytest.mark.parametrize("bad", ["", "   "])
def test_a_user_needs_a_name(bad):
    with pytest.raises(DeepRulesError, match="name"):
        User(bad)

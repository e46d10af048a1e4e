"""Written with deeprules at main a23f09b (schema 1): the fixture of the upgrade test."""

import json
import shutil
import sys
from pathlib import Path

import pandas as pd

from deeprules_core import jobs
from deeprules_core.intake import ingest
from deeprules_core.intake._provenance import Provenance, add_provenance_version
from deeprules_core.store import Workspace
from deeprules_core.study import Design, Roles, StepRecord

home = Path(sys.argv[1])
shutil.rmtree(home, ignore_errors=True)
ws = Workspace(home)
df = pd.read_csv("sample_data/simulated_planted.csv").iloc[:40, :12]
data = df.to_csv(index=False).encode()
prov = Provenance(
    source="https://example.org/GSE1",
    licence="CC0",
    download_date="2026-11-25",
    version="1",
    description="forty rows of the simulated sample",
    entered_by="alice",
)
s = ws.create_study(
    "Tumour vs normal " + "x" * 250, design=Design(question="Does gene_000 predict the label?")
)
s2, info = ingest(ws, data, name="tiny.csv", provenance=prov, study=s)
ws.save_study(s2, action="attach")
s3 = s2.with_roles(Roles(id="sample_id", label="label", group="patient_id", batch=["plate"]))
ws.save_study(s3, action="set_roles")
for i in range(3):
    s3 = s3.with_step(
        StepRecord(
            step="checks",
            params={"i": i},
            seed=i,
            started_at="2026-12-01T10:00:00+00:00",
            finished_at="2026-12-01T10:00:01+00:00",
            summary={"n_findings": i, "note": "y" * 500},
        )
    )
    ws.save_study(s3, action="run_checks", actor="alice")
add_provenance_version(
    ws,
    info.id,
    Provenance(
        source="https://example.org/GSE1",
        licence="CC-BY 4.0",
        download_date="2026-11-25",
        version="1",
        description="corrected licence",
        entered_by="alice",
    ),
)
ws.put_json(s.id, "results", "baselines", {"auc": 0.5})
ws.log_test_use(s.id, "ab" * 32, "final evaluation")
jid = jobs.submit(
    ws, target="deeprules_core.jobs:echo_job", kind="echo", params={"x": 1}, study_id=s.id, start=False
)
jobs.run_job(ws, jid)
gone = ws.create_study("Deleted one")
ws.delete_study(gone.id, confirm="Deleted one")
other = ws.create_study("Second study")
ws.log(None, "note", {"free": "text"}, actor="bob")
print(json.dumps({"study": s.id, "dataset": info.id, "job": jid, "deleted": gone.id, "other": other.id}))

"""Fuzz (hypothesis) the delimited-text reader and the study-file loader: whatever the bytes,
they either read or raise a DeepRulesError with a short one-line message, never anything else."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deeprules_core.errors import DeepRulesError
from deeprules_core.intake import parse_table
from deeprules_core.studyfile import load_study_file, parse_study_file

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

cells = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
    st.floats(allow_nan=True).map(str),
    st.sampled_from(["NA", "", "inf", "-1e308", '"', '""', "a,b", "\t", "#", "Total"]),
)
rows = st.lists(st.lists(cells, min_size=1, max_size=6), min_size=1, max_size=8)


def _check(exc: DeepRulesError) -> None:
    msg = str(exc)
    assert msg and len(msg) < 4096


@FAST
@given(
    rows=rows, sep=st.sampled_from([",", "\t", ";", "|"]), enc=st.sampled_from(["utf-8", "utf-16", "cp1252"])
)
def test_delimited_reader_reads_or_says_why(rows, sep, enc):
    text = "\n".join(sep.join(r) for r in rows)
    try:
        data = text.encode(enc)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    try:
        res = parse_table(data, name="fuzz.csv")
    except DeepRulesError as exc:
        _check(exc)
    else:
        assert res.df.shape[0] >= 1 and res.df.shape[1] >= 1


@FAST
@given(data=st.binary(max_size=400))
def test_delimited_reader_on_any_bytes(data):
    try:
        parse_table(data, name="fuzz.tsv")
    except DeepRulesError as exc:
        _check(exc)


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    [
        "data",
        "roles",
        "split",
        "models",
        "budget",
        "seed",
        "design",
        "provenance",
        "sheet",
        "task",
        "n_boot",
        "x",
    ]
)


@FAST
@given(raw=st.dictionaries(keys, yaml_values, max_size=8))
def test_study_file_schema_accepts_or_names_the_problem(raw):
    try:
        sf = parse_study_file(raw, base=Path("."))
    except DeepRulesError as exc:
        _check(exc)
        assert "\n" not in str(exc)
    else:
        assert sf.roles.label and sf.budget >= 1


@FAST
@given(text=st.text(max_size=300))
def test_study_file_loader_on_any_text(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "s.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_study_file(path)
    except DeepRulesError as exc:
        _check(exc)

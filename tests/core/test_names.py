"""Words, not codes: the display names shared by the pages and the PDF."""

from __future__ import annotations

import pytest

from deeprules_core.findings import CODES, Finding
from deeprules_core.names import (
    evidence_text,
    finding_title,
    fmt_p,
    model_label,
    params_text,
    sizes_text,
    strategy_label,
)
from deeprules_core.names import (
    test_text as describe_test,
)


def test_every_finding_code_has_a_title_in_plain_words():
    for code in CODES:
        title = finding_title(code)
        assert "_" not in title and title[0].isupper(), (code, title)
    assert len({finding_title(c) for c in CODES}) == len(CODES), "two codes read the same"
    assert finding_title("batch_confounding") == "Batch confounded with the label"


@pytest.mark.parametrize(
    ("p", "kw", "text"),
    [
        (0.0, {}, "p < 0.001"),
        (3.3e-22, {}, "p < 0.001"),
        (0.0004999, {}, "p < 0.001"),
        (0.001, {}, "p = 0.001"),
        (0.0234, {}, "p = 0.023"),
        (1.0, {}, "p = 1.000"),
        (None, {}, "p n/a"),
        (float("nan"), {}, "p n/a"),
        (1 / 20, {"n_permutations": 19}, "p ≤ 0.050 (the smallest p 19 shuffles can give)"),
        (1 / 1001, {"n_permutations": 1000}, "p ≤ 0.001 (the smallest p 1000 shuffles can give)"),
        (0.3, {"n_permutations": 19}, "p = 0.300"),
    ],
)
def test_p_values_never_read_zero(p, kw, text):
    assert fmt_p(p, **kw) == text
    assert "0.000" not in fmt_p(p, **kw)


def test_sizes_params_and_strategies_read_as_words():
    assert sizes_text({"train": 147, "tune": 49, "test": 49}) == "train 147 · tune 49 · test 49"
    line = params_text({"strategy": "leave_batch_out", "holdout_batch": ["3", "4"], "tune_fraction": 0.2})
    assert line == "strategy leave one batch out · held-out batch 3, 4 · tune share 20%"
    assert strategy_label("group").startswith("by individual")
    assert model_label("logistic_regression") == "logistic regression"


def test_evidence_is_a_short_sentence_not_a_dump_of_keys():
    f = Finding(
        code="batch_confounding",
        severity="error",
        tip=4,
        message="m",
        columns=("plate", "label"),
        evidence={"test": "fisher_exact", "statistic": 89.9, "dof": 1, "p_value": 3e-22, "effect": 0.607,
                  "effect_name": "cramers_v", "n": 244, "level_sizes": {"plate_1": 129, "plate_2": 115}},
    )  # fmt: skip
    text = f.evidence_text
    assert text.startswith("Fisher's exact test, p < 0.001, Cramér's V 0.607")
    assert "plate_1 129 · plate_2 115" in text
    for key in ("p_value", "effect_name", "statistic", "dof", "cramers_v", "fisher_exact", "{", "="):
        assert key not in text, key
    assert f.title == "Batch confounded with the label"
    assert evidence_text({"n_rows": 8, "n_groups": 4}) == "rows 8; individuals 4"
    res = {"test": "chi_square_monte_carlo", "p_value": 5e-4, "effect": 0.74, "effect_name": "cramers_v"}
    assert describe_test(res) == "chi-squared test (Monte Carlo p), p < 0.001, Cramér's V 0.74"

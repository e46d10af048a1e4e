"""Suggest what each column is (sample id, label, group, batch...) from names and content.

The suggestion is only a starting point: the user confirms it on the Data page. Every
role comes with a reason the user can read ("named like a patient identifier; 80 values,
each on 3 rows").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import pandas as pd

from ..study import Roles

__all__ = [
    "RoleSuggestion",
    "suggest_roles",
    "infer_task",
    "looks_like_sequence",
    "is_qc_column",
    "is_cluster_column",
]

# name words per role, in order of preference (a column gets at most one role)
_LABEL_WORDS = (
    "label", "target", "outcome", "diagnosis", "class", "condition", "status", "response",
    "phenotype", "disease", "disease_state", "cancer", "tumor", "tumour", "tumor_type",
    "cancer_type", "subtype", "histology", "grade", "stage", "treatment", "genotype",
    "cell_type", "celltype", "y",
)  # fmt: skip
#: Named like an outcome, but more often a covariate: the label only when nothing else is.
_WEAK_LABEL_WORDS = ("sex", "gender", "tissue", "group")
#: A text label has at most this many classes (more is an identifier or free text).
MAX_TEXT_CLASSES = 30
# Per-cell quality measures of single-cell data (scanpy, Seurat): covariates, never features.
_QC_NAMES = {
    "n_genes", "n_counts", "n_umi", "n_umis", "n_reads", "n_genes_by_counts", "total_counts",
    "percent_mito", "percent_mt", "percent_ribo", "pct_mito", "mito_frac", "frac_mito",
    "s_score", "g2_m_score", "g2m_score", "phase", "doublet_score", "predicted_doublet",
    "n_count_rna", "n_feature_rna", "scrublet_score",
}  # fmt: skip
_QC_PREFIXES = (
    "pct_counts_",
    "total_counts_",
    "log1p_total_counts",
    "log1p_n_genes",
    "n_genes_by_",
    "percent_",
)
# Cluster ids computed from the features themselves: neither a covariate nor a feature.
_CLUSTER_WORDS = ("louvain", "leiden", "cluster", "clusters", "seurat_clusters", "kmeans", "clustering")
_GROUP_WORDS = (
    "patient", "donor", "individual", "subject", "participant", "cell_line", "cellline", "mouse",
    "animal", "person", "family", "litter", "case_id",
)  # fmt: skip
_TIME_WORDS = ("timepoint", "time_point", "time", "day", "visit", "week", "hour", "month", "days")
_BATCH_WORDS = (
    "batch", "plate", "run", "lane", "site", "date", "center", "centre", "technology", "platform",
    "flowcell", "flow_cell", "chip", "array", "instrument", "operator", "machine", "sequencer",
    "hospital", "cohort", "study", "lab", "seq_tech",
)  # fmt: skip
_COVARIATE_WORDS = (
    "age",
    "sex",
    "gender",
    "bmi",
    "weight",
    "height",
    "ethnicity",
    "race",
    "smoking",
    "smoker",
)
_ID_WORDS = (
    "sample_id", "sampleid", "sample", "sample_name", "id", "barcode", "accession", "gsm", "obs_id",
    "row_name", "specimen", "specimen_id", "uid", "cell_id", "cell", "name",
)  # fmt: skip

#: a label with more distinct numeric values than this is a regression target ...
REGRESSION_MIN_UNIQUE = 10
#: ... a sequence column has at least this many letters per value ...
SEQUENCE_MIN_LENGTH = 8
#: ... and at least this share of its values are made of nucleotide or amino-acid letters
SEQUENCE_MIN_SHARE = 0.9

_DNA = re.compile(r"^[ACGTUN]+$", re.I)
_PROTEIN = re.compile(r"^[ACDEFGHIKLMNPQRSTVWYXBZUO*-]+$", re.I)


@dataclass(frozen=True)
class RoleSuggestion:
    """Suggested roles plus, for each role, the reason it was suggested."""

    roles: Roles
    reasons: dict[str, str] = field(default_factory=dict)


@functools.lru_cache(maxsize=65536)
def _norm(name: str) -> str:
    return f"_{_snake(name)}_"


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


def _matches(name: str, words: tuple[str, ...]) -> str | None:
    """The first word of ``words`` found as a whole token (or token run) in ``name``."""
    norm = _norm(name)
    for w in words:
        if f"_{w}_" in norm:
            return w
    return None


def is_qc_column(name: str) -> bool:
    """A per-cell quality measure of single-cell data (n_genes, percent_mito, S_score, phase...).

    >>> is_qc_column("n_genes"), is_qc_column("pct_counts_mt"), is_qc_column("G2M_score"), is_qc_column("CD3E")
    (True, True, True, False)
    """
    snake = _snake(name)
    return (
        snake in _QC_NAMES
        or snake.replace("_", "") in {n.replace("_", "") for n in _QC_NAMES}
        or (snake.startswith(_QC_PREFIXES))
    )


def is_cluster_column(name: str, s: pd.Series | None = None) -> bool:
    """Cluster ids (louvain, leiden, seurat_clusters...): labels computed from the features.

    A categorical column of whole numbers counts too: it names groups, it does not measure.

    >>> is_cluster_column("louvain"), is_cluster_column("leiden_res0.5"), is_cluster_column("age")
    (True, True, False)
    """
    if _matches(name, _CLUSTER_WORDS) or _snake(name).startswith(("louvain", "leiden")):
        return True
    if s is not None and isinstance(s.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in s.cat.categories]
        return bool(cats) and all(c.isdigit() for c in cats)
    return False


def looks_like_sequence(s: pd.Series) -> str | None:
    """'dna', 'protein' or None: is this a column of biological sequences?"""
    if s.dtype != object:
        return None
    vals = [v for v in s.dropna().head(200) if isinstance(v, str)]
    if not vals or min(len(v) for v in vals) < SEQUENCE_MIN_LENGTH:
        return None
    if sum(bool(_DNA.match(v)) for v in vals) >= SEQUENCE_MIN_SHARE * len(vals):
        return "dna"
    if sum(bool(_PROTEIN.match(v)) for v in vals) >= SEQUENCE_MIN_SHARE * len(vals):
        return "protein"
    return None


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s)


def _is_row_counter(s: pd.Series) -> bool:
    if not pd.api.types.is_integer_dtype(s) or s.isna().any() or len(s) < 2:
        return False
    return bool((s.diff().iloc[1:] == 1).all())


def _task(s: pd.Series) -> tuple[str, str]:
    n = int(s.nunique(dropna=True))
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        return "classification", f"{n} distinct values (categories)"
    integer = bool((s.dropna() % 1 == 0).all())
    if n > REGRESSION_MIN_UNIQUE and not (integer and n <= 2 * REGRESSION_MIN_UNIQUE):
        return "regression", f"numeric with {n} distinct values"
    return "classification", f"numeric with only {n} distinct values (treated as classes)"


def infer_task(s: pd.Series) -> str:
    """``classification`` or ``regression`` for a label column, by the rule the app's role
    suggestion uses (a number with many distinct values is a quantity; few, or text, are
    classes). ``run`` and ``audit`` use it when the task is not stated."""
    return _task(s)[0]


def suggest_roles(df: pd.DataFrame) -> RoleSuggestion:
    """Suggest column roles from column names and content.

    Parameters
    ----------
    df : pandas.DataFrame
        The parsed table.

    Returns
    -------
    RoleSuggestion
        ``roles`` (features left empty: every numeric column without another role) and a
        readable reason per role.

    Examples
    --------
    >>> df = pd.DataFrame({"sample_id": ["a", "b", "c", "d"], "patient": ["p1", "p1", "p2", "p2"],
    ...                    "condition": ["tumour", "normal"] * 2, "TP53": [1.0, 2.0, 3.0, 4.0]})
    >>> s = suggest_roles(df)
    >>> s.roles.id, s.roles.group, s.roles.label, s.roles.task
    ('sample_id', 'patient', 'condition', 'classification')
    """
    taken: set[str] = set()
    reasons: dict[str, str] = {}
    cols = [str(c) for c in df.columns]

    def free(c: str) -> bool:
        return c not in taken

    sequence = None
    text_cols = [str(c) for c, t in df.dtypes.items() if pd.api.types.is_object_dtype(t)]
    for c in text_cols:  # only text columns can hold sequences (a wide numeric table has none)
        kind = looks_like_sequence(df[c])
        if kind:
            sequence = c
            taken.add(c)
            reasons["sequence"] = f"{c!r} holds {'DNA/RNA' if kind == 'dna' else 'amino-acid'} sequences"
            break

    label, task = None, "classification"
    qc = [c for c in cols if is_qc_column(c)]
    clusters = [c for c in cols if c not in qc and is_cluster_column(c, df[c])]
    taken.update(clusters)

    def label_like(c: str) -> bool:
        s = df[c]
        n = int(s.nunique(dropna=True))
        if n < 2 or c in qc or not free(c):
            return False
        return not (_is_text(s) and n > min(MAX_TEXT_CLASSES, max(2, len(s) // 2)))

    best = None
    for words in (_LABEL_WORDS, _WEAK_LABEL_WORDS):
        for c in cols:
            w = _matches(c, words)
            if w and label_like(c):
                rank = words.index(w)
                if best is None or rank < best[0]:
                    best = (rank, c)
        if best is not None:
            break
    if best is not None:
        label = best[1]
        taken.add(label)
        task, why = _task(df[label])
        reasons["label"] = f"{label!r} is named like an outcome; {why}, so {task}"

    group = None
    for c in cols:
        if free(c) and _matches(c, _GROUP_WORDS):
            group = c
            taken.add(c)
            n = df[c].nunique(dropna=True)
            reasons["group"] = (
                f"{c!r} is named like an individual (patient/donor/cell line); {n} distinct values "
                f"for {len(df)} rows" + (": several rows per individual" if n < len(df) else "")
            )
            break

    time = None
    for c in cols:
        if free(c) and _matches(c, _TIME_WORDS):
            time = c
            taken.add(c)
            reasons["time"] = f"{c!r} is named like a time point"
            break

    batch = [c for c in cols if free(c) and _matches(c, _BATCH_WORDS)]
    taken.update(batch)
    if batch:
        reasons["batch"] = (
            f"{', '.join(map(repr, batch))}: named like processing batches (plate, run, site, date)"
        )

    covariates = [c for c in cols if free(c) and _matches(c, _COVARIATE_WORDS)]
    qc_free = [c for c in qc if free(c) and c not in covariates]
    taken.update(covariates)
    taken.update(qc_free)
    covariate_reasons: list[str] = []
    if covariates:
        covariate_reasons.append(f"{', '.join(map(repr, covariates))}: clinical/demographic covariates")
    if qc_free:
        covariate_reasons.append(
            f"{', '.join(map(repr, qc_free))}: per-cell quality measures (counts, mitochondrial share, "
            "cell-cycle scores), kept as covariates so the checks can test them, not used as features"
        )
    covariates += qc_free
    if covariate_reasons:
        reasons["covariates"] = "; ".join(covariate_reasons)
    if clusters:
        reasons["ignored"] = (
            f"{', '.join(map(repr, clusters))}: cluster ids computed from the features themselves; "
            "neither a covariate nor a feature (using them would feed the data back into the model)"
        )

    id_col = None
    for c in cols:  # by name, then by content
        if free(c) and _matches(c, _ID_WORDS) and df[c].notna().all() and df[c].is_unique:
            id_col = c
            reasons["id"] = f"{c!r} is named like a sample id and every value is different"
            break
    if id_col is None:
        for c in cols:
            s = df[c]
            if free(c) and s.notna().all() and s.is_unique and (_is_text(s) or _is_row_counter(s)):
                id_col = c
                reasons["id"] = f"{c!r} has a different value on every row (it identifies the samples)"
                break
    if id_col is not None:
        taken.add(id_col)

    meta_cols = {c for c in (id_col, label, group, time, sequence) if c} | set(batch) | set(covariates)
    numeric_clusters = [c for c in clusters if pd.api.types.is_numeric_dtype(df[c].dtype)]
    features: tuple[str, ...] = ()
    if numeric_clusters:  # numbers that name clusters are not measurements: list the features
        features = tuple(
            str(c)
            for c, t in df.dtypes.items()
            if c not in meta_cols
            and c not in numeric_clusters
            and pd.api.types.is_numeric_dtype(t)
            and not pd.api.types.is_bool_dtype(t)
        )
    roles = Roles(
        id=id_col,
        label=label,
        task=task,
        group=group,
        batch=tuple(batch),
        covariates=tuple(covariates),
        time=time,
        sequence=sequence,
        features=features,
    )
    meta = set(roles.metadata_columns) | set(
        numeric_clusters
    )  # counted from dtypes: fast on 20,000-column tables
    n_feat = sum(
        1
        for c, t in df.dtypes.items()
        if c not in meta and pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
    )
    reasons["features"] = f"{n_feat} numeric column(s) without another role"
    if label is None:
        reasons["label"] = (
            "no column is named like an outcome (label, class, condition, status...): choose it"
        )
    return RoleSuggestion(roles=roles, reasons=reasons)

"""Model families, their Optuna search spaces, and the preprocessing pipeline (Tips 2, 6, 7).

Every family is a scikit-learn estimator behind the same preprocessing, all inside one
:class:`~sklearn.pipeline.Pipeline` that is fitted on training rows only:

1. median imputation of missing values;
2. optional batch correction (``deeprules_core.confounds.BatchCorrector``), fitted on
   the training rows, when the study asks for it;
3. for very wide tables (more than :data:`WIDE_FEATURES` features) a filter that keeps
   the :data:`WIDE_FEATURES` features most associated with the label *on the rows it is
   fitted on* (ANOVA F for classes, absolute correlation for a number). It sits inside
   the pipeline, so it is refitted on every CV fold's fitting rows, on the training side
   for the final model, and on the shuffled labels of the control: the tune and test rows
   never choose features (Ambroise and McLachlan's selection bias), and it applies to
   every family alike;
4. standardisation (mean 0, variance 1, learned on the training rows);
5. the model.

Search spaces are define-by-run functions ``space(trial, info) -> params``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..errors import ModelError

__all__ = [
    "BASELINE_FAMILIES",
    "SINGLE_FEATURE",
    "BestSingleFeature",
    "WIDE_FEATURES",
    "Family",
    "FAMILIES",
    "MedianImputer",
    "UnivariateFilter",
    "BatchCorrectStep",
    "make_preprocessor",
    "make_estimator",
    "make_pipeline",
]

BASELINE_FAMILIES = (
    "dummy",
    "best_single_feature",
    "logistic_regression",
    "random_forest",
    "gradient_boosting",
    "knn",
)
#: The marker baseline (Tip 1): the one feature most associated with the label on the rows
#: it is fitted on, in a one-feature logistic (or linear) model. It joins every comparison.
SINGLE_FEATURE = "best_single_feature"
#: Above this many features, keep only this many: those most associated with the label on
#: the fitting rows (see :class:`UnivariateFilter`). 2,000 keeps 10k-60k-gene tables fast
#: for every family and still far outnumbers the samples of most studies.
WIDE_FEATURES = 2000
#: Above this many features the search spaces of the forest and of boosting are narrowed
#: (per-split features sqrt/log2 for the forest, 10% or 25% for boosting; at most 100
#: boosting rounds) to keep 20 trials of 5-fold CV on expression-sized tables within minutes.
WIDE_SPACE = 1000
#: Threads for the forest (the app shares a small machine with other users' jobs).
N_JOBS = 2


@dataclass(frozen=True)
class SpaceInfo:
    """What a search space may depend on: the data's shape and the task."""

    task: str
    n_features: int
    n_fit_min: int  # smallest number of fitting rows across the CV folds
    n_classes: int


@dataclass(frozen=True)
class Family:
    name: str
    label: str
    space: Callable[[Any, SpaceInfo], dict[str, Any]]
    has_hyperparameters: bool = True


class MedianImputer(TransformerMixin, BaseEstimator):
    """Fill missing values with each feature's median on the rows it is fitted on (0 for a
    feature with no value at all). Same result as scikit-learn's median SimpleImputer with
    ``keep_empty_features=True``, about ten times faster on 20,000 features."""

    def fit(self, X: Any, y: Any = None) -> MedianImputer:
        X = np.asarray(X, dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            med = np.nanmedian(X, axis=0) if np.isnan(X).any() else np.median(X, axis=0)
        self.statistics_ = np.where(np.isnan(med), 0.0, med)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = np.array(X, dtype=float, copy=True)
        rows, cols = np.nonzero(np.isnan(X))
        X[rows, cols] = self.statistics_[cols]
        return X


class UnivariateFilter(TransformerMixin, BaseEstimator):
    """Keep the ``k`` features most associated with the label on the rows it is fitted on:
    the ANOVA F statistic across classes (``task="classification"``) or the absolute
    Pearson correlation (``task="regression"``). A constant feature scores 0; ties keep
    the earlier column."""

    def __init__(self, k: int = WIDE_FEATURES, task: str = "classification") -> None:
        self.k = k
        self.task = task

    def fit(self, X: Any, y: Any = None) -> UnivariateFilter:
        if y is None:
            raise ModelError(
                "The feature filter of a wide table needs the labels of the rows it is fitted on."
            )
        from sklearn.feature_selection import f_classif, r_regression

        X = np.asarray(X, dtype=float)  # imputation comes first: no missing values here
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")  # constant features: F and r are undefined
            if self.task == "classification":
                score = f_classif(X, np.asarray(y))[0]
            else:
                score = np.abs(r_regression(X, np.asarray(y, dtype=float)))
        score = np.nan_to_num(np.asarray(score, dtype=float), nan=0.0, posinf=np.finfo(float).max)
        k = min(int(self.k), X.shape[1])
        self.support_ = np.sort(np.argsort(-score, kind="stable")[:k])
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=float)[:, self.support_]


class BatchCorrectStep(TransformerMixin, BaseEstimator):
    """Batch correction inside the pipeline. The batch codes travel as the last column of
    X (see :func:`deeprules_core.modeling.model_inputs`); this step splits them off, fits
    ``deeprules_core.confounds.BatchCorrector`` on the training rows, and returns the
    corrected features only."""

    def fit(self, X: Any, y: Any = None) -> BatchCorrectStep:
        try:
            from ..confounds import BatchCorrector
        except ImportError as exc:
            raise ModelError(
                "Batch correction was asked for, but the batch corrector is not available in this "
                "installation. Run without batch correction."
            ) from exc
        X = np.asarray(X, dtype=float)
        self.corrector_ = BatchCorrector().fit(X[:, :-1], X[:, -1])
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        return np.asarray(self.corrector_.transform(X[:, :-1], X[:, -1]), dtype=float)


def make_preprocessor(n_features: int, *, task: str, batch_correct: bool = False) -> Pipeline:
    """The preprocessing steps (no model), to be fitted on training rows only (with their
    labels: a wide table's feature filter needs them)."""
    steps: list[tuple[str, Any]] = [("impute", MedianImputer())]
    if batch_correct:  # the batch code rides along as the last column (never missing)
        steps.append(("batch", BatchCorrectStep()))
    if n_features > WIDE_FEATURES:
        steps.append(("feature_filter", UnivariateFilter(WIDE_FEATURES, task=task)))
    steps.append(("scale", StandardScaler()))
    return Pipeline(steps)


# ------------------------------------------------------------------------ estimators
def make_estimator(family: str, params: Mapping[str, Any], *, task: str, seed: int = 0) -> Any:
    """The scikit-learn estimator of a family with the given hyper-parameters."""
    p = dict(params)
    clf = task == "classification"
    if family == SINGLE_FEATURE:
        return BestSingleFeature(task=task)
    if family == "dummy":
        from sklearn.dummy import DummyClassifier, DummyRegressor

        return DummyClassifier(strategy="prior") if clf else DummyRegressor(strategy="mean")
    if family == "logistic_regression":
        if clf:
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(
                C=p.get("C", 1.0), class_weight=p.get("class_weight"), max_iter=300, solver="lbfgs"
            )
        from sklearn.linear_model import ElasticNet

        return ElasticNet(
            alpha=p.get("alpha", 1.0), l1_ratio=p.get("l1_ratio", 0.5), max_iter=2000, random_state=seed
        )
    if family == "random_forest":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        cls = RandomForestClassifier if clf else RandomForestRegressor
        kw = {"class_weight": p.get("class_weight")} if clf else {}
        return cls(
            n_estimators=p.get("n_estimators", 200),
            max_depth=p.get("max_depth"),
            min_samples_leaf=p.get("min_samples_leaf", 1),
            max_features=p.get("max_features", "sqrt"),
            n_jobs=N_JOBS,
            random_state=seed,
            **kw,
        )
    if family == "gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingRegressor

        cls = BoostingClassifier if clf else HistGradientBoostingRegressor
        kw = {"class_weight": p.get("class_weight")} if clf else {}
        return cls(
            learning_rate=p.get("learning_rate", 0.1),
            max_iter=p.get("max_iter", 100),
            max_leaf_nodes=p.get("max_leaf_nodes", 31),
            min_samples_leaf=p.get("min_samples_leaf", 20),
            l2_regularization=p.get("l2_regularization", 0.0),
            max_features=p.get("max_features", 1.0),
            early_stopping=False,
            random_state=seed,
            **kw,
        )
    if family == "knn":
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        cls = KNeighborsClassifier if clf else KNeighborsRegressor
        return cls(n_neighbors=p.get("n_neighbors", 5), weights=p.get("weights", "uniform"))
    raise ModelError(f"Unknown model family {family!r}; the baseline families are {BASELINE_FAMILIES}.")


class BestSingleFeature(BaseEstimator):
    """The marker baseline: choose, on the rows it is fitted on, the feature most associated
    with the label (ANOVA F for classes, |Pearson r| for a number), then fit a logistic (or
    linear) model on that feature alone. ``feature_`` is its column in the input."""

    def __init__(self, task: str = "classification") -> None:
        self.task = task

    def fit(self, X: Any, y: Any) -> BestSingleFeature:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        from sklearn.feature_selection import f_classif, r_regression

        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # constant features: F and r are undefined
            if self.task == "classification":
                score = f_classif(X, y)[0]
            else:
                score = np.abs(r_regression(X, y.astype(float)))
        score = np.nan_to_num(np.asarray(score, dtype=float), nan=-1.0, posinf=np.finfo(float).max)
        self.feature_ = int(np.argmax(score))
        self.n_features_in_ = X.shape[1]
        if self.task == "classification":
            from sklearn.linear_model import LogisticRegression

            self.model_ = LogisticRegression(C=1e4, max_iter=1000).fit(X[:, [self.feature_]], y)
            self.classes_ = self.model_.classes_
        else:
            from sklearn.linear_model import LinearRegression

            self.model_ = LinearRegression().fit(X[:, [self.feature_]], y.astype(float))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(np.asarray(X, dtype=float)[:, [self.feature_]]))

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.model_.predict(np.asarray(X, dtype=float)[:, [self.feature_]]))


class BoostingClassifier(HistGradientBoostingClassifier):
    """scikit-learn's histogram boosting classifier, binning its features without the
    sample weights.

    With class weights, scikit-learn (1.6 and later) places each feature's bin edges at
    weighted percentiles, one Python-level call per edge and feature: on 300 continuous
    features that costs several times the whole fit, on 2,000 features over a minute per
    fit. Bin edges are only a discretisation of each feature; the class weights still
    weigh every gradient and every split. (``_bin_data`` is private API: scikit-learn is
    pinned in requirements.txt, and a test checks that the override takes effect.)
    """

    def _bin_data(self, X: Any, sample_weight: Any, is_training_data: bool) -> Any:
        return super()._bin_data(X, None, is_training_data)


def make_pipeline(
    family: str,
    params: Mapping[str, Any],
    *,
    task: str,
    n_features: int,
    seed: int = 0,
    batch_correct: bool = False,
) -> Pipeline:
    """Preprocessing and model in one Pipeline (fit it on training rows only)."""
    pre = make_preprocessor(n_features, task=task, batch_correct=batch_correct)
    return Pipeline([*pre.steps, ("model", make_estimator(family, params, task=task, seed=seed))])


# --------------------------------------------------------------------- search spaces
def _space_dummy(trial: Any, info: SpaceInfo) -> dict[str, Any]:
    return {}


def _space_linear(trial: Any, info: SpaceInfo) -> dict[str, Any]:
    if info.task == "classification":
        return {
            "C": trial.suggest_float("C", 1e-4, 1e2, log=True),
            "class_weight": trial.suggest_categorical("class_weight", [None, "balanced"]),
        }
    return {
        "alpha": trial.suggest_float("alpha", 1e-4, 1e1, log=True),
        "l1_ratio": trial.suggest_float("l1_ratio", 0.05, 1.0),
    }


def _space_forest(trial: Any, info: SpaceInfo) -> dict[str, Any]:
    p: dict[str, Any] = {
        "n_estimators": trial.suggest_int("n_estimators", 50, 300, step=50),
        "max_depth": trial.suggest_categorical("max_depth", [None, 4, 8, 16]),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 10),
        # on wide data a fixed fraction of thousands of features per split is slow and adds little
        "max_features": trial.suggest_categorical(
            "max_features", ["sqrt", "log2"] if info.n_features > WIDE_SPACE else ["sqrt", "log2", 0.3]
        ),
    }
    if info.task == "classification":
        p["class_weight"] = trial.suggest_categorical("class_weight", [None, "balanced"])
    return p


def _space_boosting(trial: Any, info: SpaceInfo) -> dict[str, Any]:
    p: dict[str, Any] = {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "max_iter": trial.suggest_int("max_iter", 25, 100 if info.n_features > WIDE_SPACE else 200, step=25),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 4, 32, log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, max(5, min(50, info.n_fit_min // 4))),
        "l2_regularization": trial.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
    }
    if info.n_features > WIDE_SPACE:
        # a random share of the features per split (LightGBM's feature_fraction): on wide
        # tables it regularises and cuts the histogram work several-fold
        p["max_features"] = trial.suggest_categorical("max_features", [0.1, 0.25])
    if info.task == "classification":
        p["class_weight"] = trial.suggest_categorical("class_weight", [None, "balanced"])
    return p


def _space_knn(trial: Any, info: SpaceInfo) -> dict[str, Any]:
    high = max(1, min(50, info.n_fit_min - 1))
    return {
        "n_neighbors": trial.suggest_int("n_neighbors", 1, high, log=high > 1),
        "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
    }


FAMILIES: dict[str, Family] = {
    "dummy": Family("dummy", "Dummy (class prior / mean)", _space_dummy, has_hyperparameters=False),
    SINGLE_FEATURE: Family(
        SINGLE_FEATURE,
        "Best single feature (chosen on the training folds)",
        _space_dummy,
        has_hyperparameters=False,
    ),
    "logistic_regression": Family(
        "logistic_regression", "Logistic regression (L2) / elastic net", _space_linear
    ),
    "random_forest": Family("random_forest", "Random forest", _space_forest),
    "gradient_boosting": Family("gradient_boosting", "Gradient boosting (histogram)", _space_boosting),
    "knn": Family("knn", "k nearest neighbours", _space_knn),
}

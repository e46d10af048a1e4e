"""Display names shared by the engine's sentences, the pages and the report."""

from __future__ import annotations

__all__ = ["model_label"]

#: Display names of the model families, by task; a family missing here is spelled out.
_MODEL_NAMES: dict[str, tuple[str, str]] = {  # family: (classification, regression)
    "dummy": ("dummy", "dummy"),
    "logistic_regression": ("logistic regression", "linear regression (elastic net)"),
    "random_forest": ("random forest", "random forest"),
    "gradient_boosting": ("gradient boosting", "gradient boosting"),
    "knn": ("k-nearest neighbours", "k-nearest neighbours"),
    "mlp": ("MLP", "MLP"),
    "cnn": ("CNN", "CNN"),
}
#: The long form, for running text (the methods paragraph).
_LONG_NAMES = {
    "dummy": ("a dummy model predicting the class frequencies", "a dummy model predicting the mean"),
    "mlp": ("a multilayer perceptron (MLP)", "a multilayer perceptron (MLP)"),
    "cnn": ("a 1D convolutional network (CNN)", "a 1D convolutional network (CNN)"),
}


def model_label(family: str, task: str = "classification", *, long: bool = False) -> str:
    """The display name of a model family for a task (``long``: spelled out, for prose).

    >>> model_label("logistic_regression", "classification"), model_label("mlp", long=True)
    ('logistic regression', 'a multilayer perceptron (MLP)')
    """
    names = (_LONG_NAMES.get(str(family)) if long else None) or _MODEL_NAMES.get(str(family))
    if names is None:
        return str(family).replace("_", " ")
    return names[1] if task == "regression" else names[0]

"""Colours that mean the same thing on every chart, in the app and in the PDF.

A role (label, batch, covariate...), a side of the split (train, tune, test) and a model
family keep their colour whatever the dataset, so a reader who learned that the batch is
blue on one page finds it blue on the next. Classes and batch levels have no fixed
meaning; they take the categorical palette in their sorted order.

>>> SIDE_COLOURS["test"], ROLE_COLOURS["batch"]
('#54A24B', '#4C78A8')
>>> model_colour("logistic_regression") == model_colour("logistic regression")
True
"""

from __future__ import annotations

__all__ = [
    "ROLE_COLOURS",
    "SIDE_COLOURS",
    "MODEL_COLOURS",
    "CATEGORICAL",
    "REAL_COLOUR",
    "SHUFFLED_COLOUR",
    "model_colour",
]

#: Roles of a column (and the residual share of a variance partition).
ROLE_COLOURS: dict[str, str] = {
    "label": "#E45756",
    "batch": "#4C78A8",
    "covariate": "#72B7B2",
    "group": "#B279A2",
    "time": "#EECA3B",
    "residual": "#BAB0AC",
}
#: Sides of the split.
SIDE_COLOURS: dict[str, str] = {"train": "#4C78A8", "tune": "#F58518", "test": "#54A24B"}
#: Model families (their display names get the same colour, see model_colour).
MODEL_COLOURS: dict[str, str] = {
    "dummy": "#9D9D9D",
    "logistic_regression": "#4C78A8",
    "random_forest": "#54A24B",
    "gradient_boosting": "#F58518",
    "knn": "#B279A2",
    "mlp": "#E45756",
    "cnn": "#9D755D",
}
#: Classes and batch levels, in sorted order (Tableau 10).
CATEGORICAL: tuple[str, ...] = (
    "#4C78A8", "#F58518", "#E45756", "#72B7B2", "#54A24B",
    "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC",
)  # fmt: skip
#: The real-label score and the shuffled-label runs of the control.
REAL_COLOUR, SHUFFLED_COLOUR = "#D62728", "#BBBBBB"


def model_colour(name: str, family: str | None = None) -> str:
    """The colour of a model, by its family (a name such as 'mlp_seed1' or 'MLP' works too)."""
    from .names import _MODEL_NAMES

    key = str(family or name)
    if key in MODEL_COLOURS:
        return MODEL_COLOURS[key]
    low = key.lower()
    for fam, labels in _MODEL_NAMES.items():
        if low in (fam, *(x.lower() for x in labels)) or low.startswith(fam):
            return MODEL_COLOURS.get(fam, CATEGORICAL[-1])
    return CATEGORICAL[sum(map(ord, key)) % len(CATEGORICAL)]

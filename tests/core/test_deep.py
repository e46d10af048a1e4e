"""Known-answer tests of the deep models: representations, architectures, training, I/O."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from deeprules_core.deep import (  # noqa: E402
    DeepConfig,
    detect_alphabet,
    encode_sequences,
    fit_deep,
    load_deep,
    model_from_bytes,
    model_to_bytes,
    save_deep,
    suggest_architecture,
)
from deeprules_core.errors import DataFormatError, ModelError  # noqa: E402
from deeprules_core.split import Split  # noqa: E402
from deeprules_core.study import Roles  # noqa: E402


def _split(n: int, *, train: float = 0.6, tune: float = 0.2) -> Split:
    a, b = int(n * train), int(n * (train + tune))
    sides = ["train"] * a + ["tune"] * (b - a) + ["test"] * (n - b)
    return Split("random", 0, pd.DataFrame({"id": np.arange(n).astype(str), "split": sides, "fold": -1}))


def xor_table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """y = sign(x1 * x2): no linear model can separate it; an MLP can."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    df = pd.DataFrame(x, columns=["x1", "x2", "x3", "x4"])
    df["y"] = np.where(x[:, 0] * x[:, 1] > 0, "pos", "neg")
    return df


def motif_table(n: int = 300, seed: int = 0, motif: str = "TATAAT") -> pd.DataFrame:
    """Random DNA of 30-60 bases; class 1 carries the motif at a random position."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        length = int(rng.integers(30, 61))
        s = "".join(rng.choice(list("ACGT"), size=length))
        s = s.replace(motif, "TTTTTT")  # no accidental motif in the negatives
        label = i % 2
        if label:
            at = int(rng.integers(0, length - len(motif)))
            s = s[:at] + motif + s[at + len(motif) :]
        seqs.append(s)
        labels.append(label)
    return pd.DataFrame({"seq": seqs, "y": labels})


def _auroc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


# --------------------------------------------------------------------------- data
def test_alphabet_detection_and_variable_length_encoding():
    assert detect_alphabet(["ACGTN", "acgt"]).name == "dna"
    assert detect_alphabet(["ACGU", "UUAG"]).name == "rna"
    assert detect_alphabet(["MKVLW", "ACDEFY"]).name == "protein"
    tokens = encode_sequences(["ACGT", "GN", None], alphabet=detect_alphabet(["ACGT"]))
    assert tokens.shape == (3, 4)
    assert tokens[1].tolist() == [4, 1, 0, 0]  # G, unknown N, padding
    assert tokens[2].tolist() == [0, 0, 0, 0]
    with pytest.raises(DataFormatError, match="neither nucleotides nor amino acids"):
        detect_alphabet(["ACGT", "12#"])


def test_cnn_handles_sequences_of_any_length_and_padding_does_not_change_output():
    from deeprules_core.deep._arch import build_module

    net = build_module(
        DeepConfig(kind="cnn", depth=2, n_filters=4, kernel_size=5, dropout=0.0), n_in=4, n_out=2
    )
    net.eval()
    short = torch.tensor(encode_sequences(["ACGTAC"], alphabet=detect_alphabet(["ACGT"])))
    padded = torch.nn.functional.pad(short, (0, 20))
    with torch.no_grad():
        assert torch.allclose(net(short), net(padded), atol=1e-6)
        assert torch.isfinite(net(torch.zeros((1, 5), dtype=torch.long))).all()  # an empty sequence


# --------------------------------------------------------------------------- architecture
def test_suggest_architecture_mlp_for_measurements_without_warning():
    df = xor_table(300)
    choice = suggest_architecture(df, Roles(label="y"))
    assert choice.kind == "mlp" and "measurements" in choice.reason
    assert choice.n_samples == 300 and choice.n_params > 0
    assert choice.warning is None


def test_suggest_architecture_cnn_for_a_sequence_column():
    choice = suggest_architecture(motif_table(50), Roles(label="y", sequence="seq"))
    assert choice.kind == "cnn" and "DNA" in choice.reason and "motif" in choice.reason


def test_warning_when_parameters_vastly_outnumber_samples():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(10, 90)), columns=[f"g{i}" for i in range(90)])
    df["y"] = [0, 1] * 5
    choice = suggest_architecture(df, Roles(label="y"))
    assert choice.warning is not None and "memorise" in choice.warning
    assert choice.n_params > 100 * 10


def test_a_wide_table_starts_with_the_train_only_filter_and_a_small_network():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(30, 2000)), columns=[f"g{i}" for i in range(2000)])
    df["y"] = [0, 1] * 15
    choice = suggest_architecture(df, Roles(label="y"))
    assert choice.config.reduce == "filter" and choice.config.n_reduce == 20
    assert choice.warning is None and "wide" in choice.reason


def test_cnn_without_a_sequence_column_is_refused():
    with pytest.raises(ModelError, match="sequence column"):
        suggest_architecture(xor_table(50), Roles(label="y"), kind="cnn")


def test_bad_config_values_are_refused_with_the_parameter_name():
    with pytest.raises(ModelError, match="'dropout'"):
        DeepConfig(dropout=1.5)
    with pytest.raises(ModelError, match="Unknown deep-model setting"):
        DeepConfig.from_dict({"kind": "mlp", "n_layers": 3})


# --------------------------------------------------------------------------- known answers
XOR_CONFIG = {"kind": "mlp", "depth": 2, "width": 32, "lr": 3e-3, "max_epochs": 60, "patience": 10}


def test_mlp_learns_a_non_linear_signal_that_a_linear_model_cannot():
    from sklearn.linear_model import LogisticRegression

    df, split = xor_table(400), _split(400)
    model = fit_deep(df, Roles(label="y"), split, config=XOR_CONFIG, seed=0)
    tr, tu = df.iloc[split.indices("train")], df.iloc[split.indices("tune")]
    y_tune = (tu["y"] == "pos").to_numpy()
    assert model.classes == ["neg", "pos"]
    mlp_auc = _auroc(y_tune, model.predict_proba(tu)[:, 1])
    cols = ["x1", "x2", "x3", "x4"]
    linear = LogisticRegression().fit(tr[cols], tr["y"])
    lin_auc = _auroc(y_tune, linear.predict_proba(tu[cols])[:, 1])
    assert mlp_auc > 0.9, mlp_auc
    assert lin_auc < 0.7, lin_auc
    assert set(model.predict(tu)) <= {"neg", "pos"}


def test_cnn_finds_a_planted_sequence_motif():
    df, split = motif_table(300), _split(300)
    cfg = {"kind": "cnn", "depth": 1, "n_filters": 16, "kernel_size": 7, "lr": 1e-2, "max_epochs": 40}
    model = fit_deep(df, Roles(label="y", sequence="seq"), split, config=cfg, seed=0)
    tu = df.iloc[split.indices("tune")]
    auc = _auroc(tu["y"].to_numpy(), model.predict_proba(tu)[:, 1])
    assert auc > 0.9, auc


def test_regression_learns_a_curved_relationship():
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, size=(300, 3))
    df = pd.DataFrame(x, columns=["a", "b", "c"])
    df["y"] = 10 + 3 * x[:, 0] ** 2 + rng.normal(0, 0.3, 300)  # not centred: target scaling matters
    split = _split(300)
    model = fit_deep(df, Roles(label="y", task="regression"), split, config={**XOR_CONFIG, "max_epochs": 80})
    tu = df.iloc[split.indices("tune")]
    pred = model.predict(tu)
    r2 = 1 - np.sum((tu["y"] - pred) ** 2) / np.sum((tu["y"] - tu["y"].mean()) ** 2)
    assert r2 > 0.8, r2
    with pytest.raises(ModelError, match="predict_proba is for classification"):
        model.predict_proba(tu)


def test_same_seed_gives_identical_numbers_and_another_seed_does_not():
    df, split = xor_table(200), _split(200)
    cfg = {**XOR_CONFIG, "max_epochs": 15}
    a = fit_deep(df, Roles(label="y"), split, config=cfg, seed=3)
    b = fit_deep(df, Roles(label="y"), split, config=cfg, seed=3)
    c = fit_deep(df, Roles(label="y"), split, config=cfg, seed=4)
    assert np.array_equal(a.predict_proba(df), b.predict_proba(df))
    assert a.history_ == b.history_
    assert not np.array_equal(a.predict_proba(df), c.predict_proba(df))
    assert a.training_["deterministic"] is True and a.training_["device"] == "cpu"
    assert not torch.are_deterministic_algorithms_enabled()  # the global flag is restored


def test_standardisation_is_fitted_on_training_rows_only():
    df, split = xor_table(200), _split(200)
    df.loc[split.indices("tune"), "x1"] += 1000.0  # a shifted tune side must not move the scaling
    model = fit_deep(df, Roles(label="y"), split, config={**XOR_CONFIG, "max_epochs": 2})
    fit_rows = model.training_["n_fit"]
    assert fit_rows < len(split.indices("train"))  # a validation part was held out
    assert abs(float(model.module.x_mean[0])) < 1.0


def test_missing_feature_values_are_imputed_at_the_training_mean():
    df, split = xor_table(200), _split(200)
    df.loc[::7, "x3"] = np.nan
    model = fit_deep(df, Roles(label="y"), split, config={**XOR_CONFIG, "max_epochs": 3})
    assert np.isfinite(model.predict_proba(df)).all()


def test_class_weights_balance_the_classes():
    from deeprules_core.deep._train import class_weights

    w = class_weights(np.array([0] * 90 + [1] * 10), 2)
    assert w[1] / w[0] == pytest.approx(9.0)
    assert (90 * w[0]) == pytest.approx(10 * w[1])


# --------------------------------------------------------------------------- save / load
def test_save_load_roundtrip_gives_identical_predictions(workspace):
    df, split = xor_table(200), _split(200)
    model = fit_deep(df, Roles(label="y"), split, config={**XOR_CONFIG, "max_epochs": 5})
    study = workspace.create_study("deep io")
    sha = save_deep(workspace, study.id, model)
    again = load_deep(workspace, sha)
    assert np.array_equal(model.predict_proba(df), again.predict_proba(df))
    assert again.config == model.config and again.classes == ["neg", "pos"]
    assert save_deep(workspace, study.id, model) == sha  # same model, same bytes
    with zipfile.ZipFile(io.BytesIO(workspace.get_blob(sha))) as z:
        assert sorted(z.namelist()) == ["config.json", "weights.pt"]
        state = torch.load(io.BytesIO(z.read("weights.pt")), weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


class _Payload:
    def __reduce__(self):  # what a malicious pickle would do
        return (print, ("code ran while loading",))


def test_loading_refuses_pickled_objects():
    df, split = motif_table(60), _split(60)
    model = fit_deep(df, Roles(label="y", sequence="seq"), split, config={"kind": "cnn", "max_epochs": 2})
    good = model_to_bytes(model)
    assert model_from_bytes(good).spec["alphabet"]["name"] == "dna"
    evil = io.BytesIO()
    torch.save({"x": _Payload()}, evil)
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(buf, "w") as dst:
        dst.writestr("config.json", src.read("config.json"))
        dst.writestr("weights.pt", evil.getvalue())
    with pytest.raises(ModelError, match="only tensors"):
        model_from_bytes(buf.getvalue())
    with pytest.raises(ModelError, match="not a saved deeprules"):
        model_from_bytes(b"not a zip")


def test_thread_choice_depends_on_network_size_and_can_be_overridden(monkeypatch):
    from deeprules_core.deep._train import PARALLEL_WORK, set_threads

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("DEEPRULES_TORCH_THREADS", raising=False)
        assert set_threads(1_000) == 1  # a small network: one thread is fastest
        big = set_threads(PARALLEL_WORK * 10)
        assert 1 <= big <= 4 and torch.get_num_threads() == big
        monkeypatch.setenv("DEEPRULES_TORCH_THREADS", "3")
        assert set_threads(1_000) == 3
    finally:
        torch.set_num_threads(before)

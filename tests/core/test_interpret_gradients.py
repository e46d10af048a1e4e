"""Integrated gradients: completeness on a linear model, planted features in a tiny MLP,
a motif in a hand-built sequence network, and the logo figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("captum")

from deeprules_core.interpret import (  # noqa: E402
    DELTA_TOLERANCE,
    aggregate_attributions,
    deep_attributions,
    explain_sample,
    integrated_gradients,
    logo_figure,
    rank_agreement,
    sequence_map,
)


class FakeDeep:
    """The DeepModel interface the engine relies on: .module, .spec, .inputs, .scores."""

    def __init__(self, module, spec, encode):
        self.module, self.spec, self._encode = module, spec, encode

    @property
    def classes(self):
        return self.spec.get("classes")

    def inputs(self, df):
        return _Data(self._encode(df))

    def scores(self, data):
        with torch.no_grad():
            x = torch.as_tensor(data.x)
            out = self.module(x)
        return torch.softmax(out, 1).numpy()

    def predict_proba(self, df):
        return self.scores(self.inputs(df))


class _Data:
    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)


class Standardised(torch.nn.Module):
    def __init__(self, mean, body):
        super().__init__()
        self.register_buffer("x_mean", torch.as_tensor(mean, dtype=torch.float32))
        self.body = body

    def forward(self, x):
        return self.body(x - self.x_mean)


def test_completeness_on_a_linear_model_is_exact():
    w = torch.tensor([[1.5, -2.0, 0.0, 0.5]])
    net = torch.nn.Linear(4, 1)
    with torch.no_grad():
        net.weight.copy_(w)
        net.bias.fill_(0.3)
    x = torch.randn(20, 4, generator=torch.Generator().manual_seed(0))
    base = x.mean(0, keepdim=True)
    res = integrated_gradients(lambda v: net(v)[:, 0], x, baselines=base, n_steps=20)
    expected = (w * (x - base)).numpy()
    assert np.allclose(res.attributions, expected, atol=1e-5)
    assert np.allclose(res.attributions.sum(1), res.output_diff, atol=1e-4)  # completeness
    assert res.relative_delta < 1e-4 and res.warning is None and res.n_steps == 20


def test_delta_drives_more_steps_and_warns_when_it_stays_large():
    f = lambda v: torch.sin(8 * v).sum(1)  # noqa: E731  (wiggly: few steps miss the integral)
    x = torch.full((3, 2), 1.3)
    res = integrated_gradients(f, x, n_steps=2, max_steps=4)
    assert res.n_steps == 4 and res.relative_delta > DELTA_TOLERANCE and "convergence" in res.warning
    good = integrated_gradients(f, x, n_steps=2, max_steps=400)
    assert good.relative_delta <= DELTA_TOLERANCE and good.n_steps > 2


def _train_mlp(X: np.ndarray, y: np.ndarray, seed: int = 0):
    torch.set_num_threads(1)  # a tiny network: threads only add overhead on a shared machine
    torch.manual_seed(seed)
    body = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    net = Standardised(X.mean(0), body)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    return net.eval()


def test_planted_features_rank_on_top_for_a_tiny_mlp():
    rng = np.random.default_rng(0)
    n, p = 300, 8
    X = rng.normal(size=(n, p)).astype(np.float32)
    y = ((2 * X[:, 0] - 2 * X[:, 1] + 0.3 * rng.normal(size=n)) > 0).astype(int)
    cols = [f"f{i}" for i in range(p)]
    net = _train_mlp(X[:200], y[:200])
    model = FakeDeep(
        net,
        {"task": "classification", "classes": [0, 1], "representation": "tabular", "features": cols},
        lambda df: df[cols].to_numpy(np.float32),
    )
    tune = pd.DataFrame(X[200:], columns=cols)
    att = deep_attributions(model, tune)
    assert att.relative_delta <= DELTA_TOLERANCE and att.target == [1] * 100
    glob = aggregate_attributions(att.attributions, att.names)
    assert set(glob["feature"].head(2)) == {"f0", "f1"}
    assert (glob["low"] <= glob["importance"]).all() and (glob["importance"] <= glob["high"]).all()
    # this sample has a high f0 and a low f1 (weight -2): both push it towards class 1
    top = explain_sample(model, tune, int(np.argmax(tune["f0"] - tune["f1"])), top=2)
    assert top.attrs["method"] == "ig"
    signs = dict(zip(top["feature"], np.sign(top["contribution"]), strict=True))
    assert signs == {"f0": 1.0, "f1": 1.0}
    # the permutation ranking of the same model agrees on the top two
    from deeprules_core.interpret import permutation_importance_grouped

    perm = permutation_importance_grouped(model, tune, y[200:], scoring="auroc", n_repeats=3)
    assert rank_agreement(perm, glob, top=2)["jaccard"] == 1.0


#: The spec of a two-class DNA sequence model (what a DeepModel carries).
SEQ_SPEC = {
    "task": "classification",
    "classes": ["no", "yes"],
    "representation": "sequence",
    "sequence": "seq",
    "alphabet": {"name": "dna", "letters": "ACGT"},
}


class MotifNet(torch.nn.Module):
    """A hand-built CNNNet-like network that detects the motif GATA (alphabet ACGT)."""

    def __init__(self):
        super().__init__()
        self.convs = torch.nn.Sequential(torch.nn.Conv1d(4, 1, 5, padding=2), torch.nn.ReLU())
        self.dropout = torch.nn.Dropout(0.0)
        self.head = torch.nn.Linear(1, 2)
        with torch.no_grad():
            w = torch.zeros(1, 4, 5)
            for pos, letter in enumerate("GATA"):
                w[0, "ACGT".index(letter), pos] = 1.0
            self.convs[0].weight.copy_(w)
            self.convs[0].bias.fill_(-3.0)  # fires only on a full match (4 - 3 = 1)
            self.head.weight.copy_(torch.tensor([[-2.0], [2.0]]))
            self.head.bias.zero_()

    def forward(self, tokens):
        return self.forward_onehot(torch.nn.functional.one_hot(tokens, 6)[..., 2:].float(), tokens > 0)

    def forward_onehot(self, onehot, mask):
        h = self.convs(onehot.transpose(1, 2))
        h = h.masked_fill(~mask.unsqueeze(1), float("-inf")).amax(-1)
        return self.head(torch.where(torch.isfinite(h), h, torch.zeros_like(h)))


def test_sequence_attribution_lands_on_the_motif_and_draws_a_logo():
    seqs = ["CCCCGATACCCC", "GATACCCCCCCC", "CCCCCCCCCCCC"]
    tok = {c: i + 2 for i, c in enumerate("ACGT")}

    def encode(df):
        return np.array([[tok[c] for c in s] for s in df["seq"]], dtype=np.int64)

    net = MotifNet().eval()
    model = FakeDeep(
        net,
        SEQ_SPEC,
        encode,
    )
    att = deep_attributions(model, pd.DataFrame({"seq": seqs}))
    assert att.representation == "sequence" and att.attributions.shape == (3, 12, 4)
    pos = att.per_position
    assert set(np.argsort(-pos[0])[:4]) == {4, 5, 6, 7}
    assert set(np.argsort(-pos[1])[:4]) == {0, 1, 2, 3}
    assert np.allclose(pos[0].sum(), att.attributions[0].sum())
    m = sequence_map(att, 0)
    assert "".join(m["letter"]) == seqs[0] and m["attribution"].iloc[4:8].gt(0).all()
    glob = aggregate_attributions(att.attributions, att.names)
    assert len(glob) == 12
    fig = logo_figure(seqs[0], m["attribution"].to_numpy(), title="sample 1")
    assert fig.axes[0].get_title() == "sample 1" and len(fig.axes[0].patches) >= 4
    one = explain_sample(model, pd.DataFrame({"seq": seqs}), 0, top=4)
    assert set(one["feature"]) == {"pos 5", "pos 6", "pos 7", "pos 8"}
    assert "".join(one.sort_values("feature")["value"]) == "GATA"


def test_a_sequence_network_without_a_one_hot_path_is_refused():
    from deeprules_core.errors import ModelError

    class Opaque(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(1, 2)

        def forward(self, tokens):
            return self.lin(tokens.float().mean(1, keepdim=True))

    model = FakeDeep(
        Opaque().eval(),
        SEQ_SPEC,
        lambda df: np.array([[2, 3, 4, 5, 2]] * len(df), dtype=np.int64),
    )
    with pytest.raises(ModelError, match="does not expose its one-hot input"):
        deep_attributions(model, pd.DataFrame({"seq": ["ACGTA"]}))


def test_a_sequence_network_whose_one_hot_path_differs_is_refused():
    from deeprules_core.errors import ModelError

    class Shifted(MotifNet):
        def forward(self, tokens):
            return super().forward(tokens) + 1.0  # not what the one-hot path computes

    model = FakeDeep(
        Shifted().eval(),
        SEQ_SPEC,
        lambda df: np.array([[2, 3, 4, 5, 2]] * len(df), dtype=np.int64),
    )
    with pytest.raises(ModelError, match="forward_onehot"):
        deep_attributions(model, pd.DataFrame({"seq": ["ACGTA"]}))

"""Every model of Tables 3 and 4 builds with the parameter count docs/spec.md §3–4 gives, and bad
configurations fail at build time with a message that says what would work."""
import numpy as np
import pytest

from numser import ParameterError
from numser.methods import TABLE3_KERNELS, names
from numser.models import build

# (method, builder kwargs, parameters docs/spec.md §3–4 says our reading must have)
SPEC_COUNTS = [
    ("3d-cnn-dnn", dict(kernel=(2, 2, 128)), 807_952),
    ("3d-cnn-dnn", dict(kernel=(2, 2, 32)), 794_128),
    ("3d-cnn-dnn", dict(kernel=(2, 2, 2)), 789_808),
    ("3d-cnn-dnn-elm", dict(kernel=(2, 2, 128)), 545_808),
    ("3d-cnn-dnn-elm", dict(kernel=(2, 2, 32)), 531_984),
    ("3d-cnn-dnn-elm", dict(kernel=(2, 2, 2)), 527_664),
    # depth 2 (docs/spec.md §3): the third convolution dropped, both poolings kept after the second
    ("3d-cnn-dnn", dict(kernel=(2, 2, 2), depth=2), 789_676),
    ("3d-cnn-dnn", dict(kernel=(2, 2, 32), depth=2), 792_076),
    ("3d-cnn-dnn", dict(kernel=(2, 2, 128), depth=2), 799_756),
    ("3d-cnn-dnn-elm", dict(kernel=(2, 2, 2), depth=2), 527_532),
    ("3d-cnn-dnn-elm", dict(kernel=(2, 2, 32), depth=2), 529_932),
    ("3d-cnn-dnn-elm", dict(kernel=(2, 2, 128), depth=2), 537_612),
    ("dnn-elm", dict(), 141_060),
    ("dnn-elm", dict(context=5), 173_828),
    ("lstm-elm", dict(), 214_532),
    ("2d-cnn-lstm", dict(kernel=(1, 2, 2)), 263_772),
    ("2d-cnn-lstm", dict(kernel=(1, 2, 32)), 264_972),
    ("2d-cnn-lstm", dict(kernel=(1, 2, 128)), 268_812),
    ("2d-cnn-lstm-dnn", dict(kernel=(1, 2, 2)), 594_012),
    ("2d-cnn-lstm-dnn", dict(kernel=(1, 2, 32)), 595_212),
    ("2d-cnn-lstm-dnn", dict(kernel=(1, 2, 128)), 599_052),
]


@pytest.mark.parametrize("method, kwargs, expected", SPEC_COUNTS)
def test_parameter_count_matches_spec(method, kwargs, expected):
    assert build(method, **kwargs).n_params() == expected


@pytest.mark.parametrize("cells, paper_k", [(128, 1583), (256, 2211)])
def test_1d_cnn_lstm_count_printed_beside_paper(cells, paper_k, capsys):
    model = build("1d-cnn-lstm", cells=cells, verbose=True)
    printed = capsys.readouterr().out
    assert f"{model.n_params():,} parameters" in printed and f"paper: {paper_k}K" in printed
    # conv1d 80 (40) + conv1d 800 (40) + LSTM(800→c) + LSTM(c→c) + FC c→4, our reading of docs/spec.md §4
    c = cells
    assert model.n_params() == (40 * 80 + 40) + (40 * 40 * 800 + 40) + 4 * (c * (800 + c) + c) \
        + 4 * (c * 2 * c + c) + (4 * c + 4)


def _input(model, n=2, seed=0):
    return np.random.default_rng(seed).standard_normal((n,) + model.input_shape).astype(np.float32)


@pytest.mark.parametrize("kernel", TABLE3_KERNELS)
def test_table3_kernels_build_and_run(kernel):
    model = build("3d-cnn-dnn", kernel=kernel, depth=3)
    logits = model.forward(_input(model), train=True)
    assert logits.shape == (2, 4) and logits.dtype == np.float32
    dx = model.backward(np.ones_like(logits))
    assert dx.shape == (2,) + model.input_shape


@pytest.mark.parametrize("method", names())
def test_every_method_runs_forward_and_backward(method):
    model = build(method, kernel=(2, 2, 32) if method.startswith("3d") else (1, 2, 32))
    logits = model.forward(_input(model), train=True)
    assert logits.shape[0] == 2 and logits.shape[-1] == 4
    assert logits.ndim == (3 if model.per_step else 2)
    model.backward(np.ones_like(logits))
    assert all(np.isfinite(g).all() for _, g in model.parameters())
    emb = model.embed(_input(model))
    assert emb.ndim == 2 and emb.shape[0] == 2


def test_elm_variant_has_ten_steps_of_512():
    model = build("3d-cnn-dnn-elm", kernel=(2, 2, 2))
    assert model.forward(_input(model)).shape == (2, 10, 4)


def test_depth_2_and_4_build():
    assert build("3d-cnn-dnn", depth=2, kernel=(2, 2, 2)).forward(
        _input(build("3d-cnn-dnn", depth=2, kernel=(2, 2, 2)))).shape == (2, 4)
    assert build("3d-cnn-dnn", depth=4, kernel=(2, 2, 2)).n_params() > 0


def test_same_seed_same_weights():
    a, b = build("3d-cnn-dnn", kernel=(2, 2, 2), seed=3), build("3d-cnn-dnn", kernel=(2, 2, 2), seed=3)
    c = build("3d-cnn-dnn", kernel=(2, 2, 2), seed=4)
    assert all(np.array_equal(p, q) for (p, _), (q, _) in zip(a.parameters(), b.parameters()))
    assert not all(np.array_equal(p, q) for (p, _), (q, _) in zip(a.parameters(), c.parameters()))


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(ParameterError, match="unknown method 'cnn'.*3d-cnn-dnn"):
        build("cnn")


def test_bad_kernel_says_what_works():
    with pytest.raises(ParameterError, match="three positive ints"):
        build("3d-cnn-dnn", kernel=(2, 2))


def test_depth_that_pools_an_axis_to_zero():
    # L = 10 → 5 → 2 → 1 → 0 with 2×2×2 pooling after every convolution but the first
    with pytest.raises(ParameterError, match="axis reaches zero.*smaller depth"):
        build("3d-cnn-dnn", depth=6, kernel=(2, 2, 2))


def test_wrong_input_shape_names_the_expected_one():
    model = build("3d-cnn-dnn", kernel=(2, 2, 2))
    with pytest.raises(ParameterError, match=r"\(N, 10, 10, 256\).*extract_features"):
        model.step_posteriors(np.zeros((2, 10, 256), np.float32))

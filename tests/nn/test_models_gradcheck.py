"""Whole small models ending in softmax cross-entropy, checked by finite differences in float64.

They mirror the paper's model families at toy size (docs/spec.md §3, §4): a 3D CNN with pooling and a
dense head; a conv front end read as steps (transpose/reshape) feeding per-step dense layers and
an LSTM; and the 3D-CNN-DNN-ELM layout with a per-step head trained on the label at every step.
"""
import numpy as np
import pytest

from numser.nn.activations import ReLU
from numser.nn.conv import Conv3D
from numser.nn.dense import Dense
from numser.nn.dropout import Dropout
from numser.nn.gradcheck import check_model
from numser.nn.loss import softmax_cross_entropy
from numser.nn.lstm import LSTM
from numser.nn.pool import MaxPool3D
from numser.nn.sequence import PerStep
from numser.nn.shape import Flatten, Reshape, Transpose



def smallest_pool_gap(model, x):
    """The smallest gap between the two largest values of any max-pool window in the model.

    A finite-difference step h can switch the arg-max only when this gap is below about 2h, so
    a gap far above 1e-6 shows the input has no near-ties and the check is meaningful. Windows
    whose maximum is exactly 0 follow a ReLU that zeroed them all: every entry there has zero
    gradient, so those ties are harmless and are skipped.
    """
    gap = np.inf
    h = np.asarray(x, dtype=np.float64)
    for layer in [l.astype(np.float64) for l in model]:
        if isinstance(layer, MaxPool3D):
            pL, pT, pS = layer.size
            N, C, L, T, S = h.shape
            w = h[:, :, :L // pL * pL, :T // pT * pT, :S // pS * pS]
            w = w.reshape(N, C, L // pL, pL, T // pT, pT, S // pS, pS)
            w = w.transpose(0, 1, 2, 4, 6, 3, 5, 7).reshape(N, C, L // pL, T // pT, S // pS, -1)
            top2 = np.sort(w, axis=-1)[..., -2:]
            live = top2[..., 1] != 0
            if live.any():
                gap = min(gap, float(np.min((top2[..., 1] - top2[..., 0])[live])))
        h = layer.forward(h)
    return gap


@pytest.mark.parametrize("method, kS", [("direct", 3), ("fft", 16)])
def test_cnn_pool_flatten_dense(method, kS):
    """conv → ReLU → pool → conv → ReLU → pool → flatten → dense → softmax CE (the 3D-CNN-DNN)."""
    rng = np.random.default_rng(0)
    S = 16 if kS == 16 else 8
    model = [Conv3D(1, 2, (2, 2, kS), rng=rng, method=method), ReLU(), MaxPool3D((2, 2, 2)),
             Conv3D(2, 2, (2, 1, 3), rng=rng, method=method if kS < 16 else "direct"), ReLU(),
             MaxPool3D((1, 2, 2)), Flatten(), Dense(2 * 2 * 1 * (S // 4), 4, rng=rng)]
    for layer in model:                                  # non-zero biases exercise db
        if "b" in layer.params:
            layer.params["b"][:] = rng.uniform(-0.1, 0.1, layer.params["b"].shape)
    x = rng.standard_normal((2, 1, 4, 4, S))
    y = np.array([1, 3])
    assert smallest_pool_gap(model, x) > 1e-4
    # every parameter entry (at most 36 per array) and 64 random entries of x (of 256 or 512)
    errors = check_model(model, x, y, softmax_cross_entropy, max_entries=64)
    assert len(errors) == 1 + 3 * 2, errors              # x and W, b of two convs and the dense
    assert max(errors.values()) < 1e-6, errors


def test_cnn_as_steps_per_step_dense_lstm_dense():
    """conv → transpose/reshape (L as steps) → per-step dense → LSTM → dense → softmax CE."""
    rng = np.random.default_rng(1)
    model = [Conv3D(1, 2, (2, 2, 2), rng=rng), ReLU(),
             Transpose((1, 0, 2, 3)),                    # (N, C, L, T, S) → (N, L, C, T, S)
             Reshape((5, -1)),                           # → (N, L, C·T·S) = (N, 5, 24)
             PerStep([Dense(24, 6, rng=rng), ReLU()]),
             LSTM(6, 4, return_sequences=False, rng=rng),
             Dense(4, 4, rng=rng)]
    model[5].params["b"][:] = rng.uniform(-0.5, 0.5, 16)
    x = rng.standard_normal((3, 1, 5, 3, 4))
    errors = check_model(model, x, np.array([0, 2, 3]), softmax_cross_entropy)
    assert {"x", "0.W", "0.b", "4.layers.0.W", "4.layers.0.b", "5.W", "5.U", "5.b", "6.W",
            "6.b"} == set(errors)
    assert max(errors.values()) < 1e-6, errors


def test_elm_layout_per_step_head_with_label_at_every_step():
    """conv → pool (1,2,2) → steps → per-step dense/ReLU/dropout/dense → CE over all N·L steps."""
    rng = np.random.default_rng(2)
    model = [Conv3D(1, 2, (2, 2, 2), rng=rng), ReLU(), MaxPool3D((1, 2, 2)),
             Transpose((1, 0, 2, 3)), Reshape((3, -1)),  # (N, 2, 3, 2, 4) → (N, 3, 16)
             PerStep([Dense(16, 5, rng=rng), ReLU(), Dropout(0.5, rng=rng), Dense(5, 4, rng=rng)])]
    drop = model[-1].layers[2]
    drop.fix_mask((rng.random((2 * 3, 5)) >= 0.5) / 0.5)  # one mask for the N·L rows, all calls
    x = rng.standard_normal((2, 1, 3, 4, 8))
    assert smallest_pool_gap(model[:3], x) > 1e-4
    errors = check_model(model, x, np.array([1, 2]), softmax_cross_entropy, train=True)
    assert max(errors.values()) < 1e-6, errors

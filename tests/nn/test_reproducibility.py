"""Training is bit-identical whatever the number of threads (issue 11 item 1).

Each case trains a small model for two epochs in a fresh process, once with NUMBA_NUM_THREADS=1
and once with 2, and compares the per-epoch losses and the test posteriors *exactly* (the bytes,
not a tolerance). The cases cover every reduction that runs in parallel: the direct and the FFT
path of the 3D convolution (their weight-gradient kernels sum the batch in partials), the LSTM
(BLAS matrix products) and the ELM stage on top of it, a 2D-CNN-LSTM (FFT convolution feeding
an LSTM) and the 1D-CNN-LSTM (the 'fft-gemm' path: blocks of rows on Python threads, per-frequency
BLAS products, dw in fixed partials). A reduction whose order followed the thread count would change the rounding and fail
the comparison from the second step on.
"""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Runs in a fresh process (NUMBA_NUM_THREADS is read once, when Numba starts): trains, prints JSON.
WORKER = r"""
import hashlib, json, os, sys
import numpy as np
import numba
from numser.models import build
from numser.train import TrainConfig, fit_elm, train

method, kw, checkpoint = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
model = build(method, seed=3, **kw)
rng = np.random.default_rng(7)
x = rng.standard_normal((28,) + model.input_shape).astype(np.float32)
y = np.arange(28) % 4
config = TrainConfig(max_epochs=2, batch_size=4, patience=None, seed=5, lr=1e-3)
fit = train(model, x[:16], y[:16], x[16:22], y[16:22], config, checkpoint=checkpoint, log=None)
with np.load(checkpoint) as last:          # the last epoch's state (train() restores the best)
    weights = sorted(k for k in last.files if k.startswith(("param_", "adam_")))
    last_epoch = hashlib.sha256(b"".join(last[k].tobytes() for k in weights)).hexdigest()
out = {"threads": numba.get_num_threads(),
       "losses": [float(h["loss"]).hex() for h in fit["history"]],
       "last_epoch_state": last_epoch,
       "posteriors": hashlib.sha256(model.step_posteriors(x[22:]).tobytes()).hexdigest()}
if model.per_step:
    fit_elm(model, x[:16], y[:16], x[16:22], y[16:22], hidden_grid=(20,), C_grid=(1.0,))
    out["predictions"] = model.predict(x[22:]).tolist()
    out["proba"] = hashlib.sha256(model.predict_proba(x[22:]).tobytes()).hexdigest()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def numba_cache(tmp_path_factory):
    """A Numba cache directory that starts empty (shared by the cases of this module)."""
    return str(tmp_path_factory.mktemp("numba_cache"))


def _train(method, kw, threads, cache_dir, checkpoint):
    env = dict(os.environ, PYTHONPATH=ROOT, NUMBA_NUM_THREADS=str(threads),
               NUMBA_CACHE_DIR=cache_dir)
    proc = subprocess.run([sys.executable, "-c", WORKER, method, json.dumps(kw), str(checkpoint)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("method, kw", [
    ("3d-cnn-dnn", {"kernel": [2, 2, 2]}),         # direct path (kS < FFT_MIN_KS)
    ("3d-cnn-dnn", {"kernel": [2, 2, 32]}),        # FFT path
    ("lstm-elm", {}),                              # two LSTMs, per-step dense, ELM
    ("2d-cnn-lstm", {"kernel": [1, 2, 32]}),       # FFT convolutions feeding the LSTMs
    ("1d-cnn-lstm", {}),                           # 'fft-gemm' path: blocks, BLAS, dw partials
], ids=["3d-direct", "3d-fft", "lstm-elm", "2d-cnn-lstm", "1d-cnn-lstm"])
def test_training_is_bit_identical_on_1_and_2_threads(method, kw, numba_cache, tmp_path):
    # 1 thread first: it compiles what the cache does not hold yet; 2 threads load all of it
    one = _train(method, kw, 1, numba_cache, tmp_path / "one.npz")
    two = _train(method, kw, 2, numba_cache, tmp_path / "two.npz")
    assert (one["threads"], two["threads"]) == (1, 2)
    assert len(one["losses"]) == 2
    one.pop("threads"), two.pop("threads")
    assert one == two

"""Mini-batch training with Adam and early stopping on validation UA (docs/spec.md §6), resumable.

The loop reads top to bottom: shuffle, step through mini-batches (forward, loss, backward, Adam),
evaluate validation UA, keep the best epoch's weights, write a checkpoint, print one line. The
``-elm`` methods then fit their ELM on utterance functionals of the step posteriors (docs/spec.md §5).
"""
import json
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from numser import CLASSES, FileFormatError, ParameterError
from numser.atomic import savez
from numser.allocator import keep_freed_memory
from numser.elm import ELM, select_elm, utterance_functionals
from numser.features import Standardiser
from numser.metrics import unweighted_accuracy
from numser.models import check_saved_config, from_config
from numser.nn.adam import Adam
from numser.nn.loss import softmax_cross_entropy
from numser.readers import array_like, is_int, is_number, read_npz, require


@dataclass(frozen=True)
class TrainConfig:
    """The paper's training set-up (docs/spec.md §6); ``patience`` is our reading of 'early stopping'.

    Parameters
    ----------
    lr, beta1, beta2, eps : float
        Adam's step size and moment decay rates (3e-3, .9, .999, 1e-8).
    batch_size : int
        Utterances per mini-batch (128).
    max_epochs : int
        At most this many passes over the training set (20).
    patience : int or None
        Stop after this many epochs without a better validation UA (None: run all epochs).
        The best epoch's weights are restored either way.
    seed : int
        Seed of the mini-batch shuffling.
    warmup_epochs : int
        Ramp the learning rate linearly from lr/W to lr over the first W = warmup_epochs × (steps
        per epoch) Adam steps: step t (1-based) uses lr · min(1, t / W). 0 (the paper's recipe)
        uses lr from the first step. See :data:`RECIPES`.
    """

    lr: float = 3e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    batch_size: int = 128
    max_epochs: int = 20
    patience: int | None = 5
    seed: int = 0
    warmup_epochs: int = 0


def warmup_lr(lr, step, warmup_steps):
    """The learning rate of Adam step ``step`` (0-based) under a linear warm-up over
    ``warmup_steps`` steps: lr · min(1, (step + 1) / warmup_steps); lr itself when 0."""
    return lr * (min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0)


#: The training recipes a run can choose (``--recipe``): the paper's, and the opt-in 'stable' one,
#: chosen on validation UA of the 4-corpus data (docs/training.md, "A stable recipe"): a third of
#: the paper's learning rate, reached by a linear warm-up over the first two epochs. With the
#: paper's 3e-3 from the first step, the long spectral kernels' ReLUs die in the first updates and
#: the 3D CNNs collapse to one class (examples/10_dead_relus.py).
RECIPES = {"paper": {"lr": 3e-3, "warmup_epochs": 0},
           "stable": {"lr": 1e-3, "warmup_epochs": 2}}


def validation_ua(model, x, y, batch_size=256):
    """UA of the network alone (per-step models: argmax of the mean step posterior)."""
    p = model.step_posteriors(x, batch_size)
    if p.ndim == 3:
        p = p.mean(axis=1)
    return unweighted_accuracy(y, p.argmax(axis=1))


def train(model, x_train, y_train, x_val, y_val, config=TrainConfig(), *, checkpoint=None,
          log=print):
    """Train ``model`` in place; return the history (one dict per epoch).

    Parameters
    ----------
    model : numser.models.Model
    x_train, x_val : ndarray, (N, *model.input_shape), float32
    y_train, y_val : ndarray, (N,), int class indices
    config : TrainConfig
    checkpoint : str or None
        Path of an ``.npz`` written (atomically) after every epoch; when it exists, training
        resumes from it and the result is identical to an uninterrupted run.
    log : callable or None
        Receives one line of progress per epoch.

    Returns
    -------
    dict with ``history`` (epoch, loss, val_ua, seconds), ``best_epoch``, ``best_val_ua`` and
    ``resumed_epoch`` (the epochs read from the checkpoint, 0 for a fresh start).
    """
    model.check_input(x_train)
    model.check_input(x_val)
    if len(x_train) != len(y_train) or len(x_val) != len(y_val) or len(x_train) == 0:
        raise ParameterError(f"train/validation sizes do not match their labels or are empty: "
                             f"{len(x_train)}/{len(y_train)} and {len(x_val)}/{len(y_val)}")
    y_train = np.asarray(y_train, dtype=np.int64)
    keep_freed_memory()             # every step reallocates the same big arrays: reuse their pages
    params = model.parameters()
    adam = Adam(lr=config.lr, beta1=config.beta1, beta2=config.beta2, eps=config.eps)
    shuffle = np.random.default_rng(config.seed)
    state = {"epoch": 0, "history": [], "best_val_ua": -1.0, "best_epoch": 0,
             "best": [p.copy() for p, _ in params]}
    if checkpoint and os.path.exists(checkpoint):
        try:
            state = _load_checkpoint(checkpoint, model, adam, shuffle, config)
            if log:
                log(f"resumed from {checkpoint} after epoch {state['epoch']}")
        except FileFormatError as e:
            # a damaged checkpoint costs its epochs, never the run: start this task over
            if log:
                log(f"warning: {e}; training this task from the start")
            adam = Adam(lr=config.lr, beta1=config.beta1, beta2=config.beta2, eps=config.eps)
            shuffle = np.random.default_rng(config.seed)
            os.remove(checkpoint)
    resumed_epoch = state["epoch"]
    warmup_steps = config.warmup_epochs * -(-len(x_train) // config.batch_size)

    start = time.time()
    while state["epoch"] < config.max_epochs and not _patience_out(state, config):
        t0 = time.time()
        order = shuffle.permutation(len(x_train))
        losses = []
        for i in range(0, len(order), config.batch_size):
            batch = order[i:i + config.batch_size]
            logits = model.forward(x_train[batch], train=True)
            loss, dlogits = softmax_cross_entropy(logits, y_train[batch])
            model.backward(dlogits)
            # the warm-up ramps this step's lr; Adam (and so the checkpoint) keeps config.lr
            adam.step(params, lr=warmup_lr(config.lr, adam.t, warmup_steps))
            losses.append(loss * len(batch))
        val_ua = validation_ua(model, x_val, y_val)
        state["epoch"] += 1
        state["history"].append({"epoch": state["epoch"],
                                 "loss": float(np.sum(losses) / len(order)),
                                 "val_ua": float(val_ua), "seconds": time.time() - t0})
        if val_ua > state["best_val_ua"]:
            state.update(best_val_ua=float(val_ua), best_epoch=state["epoch"],
                         best=[p.copy() for p, _ in params])
        if checkpoint:
            _save_checkpoint(checkpoint, model, adam, shuffle, state, config)
        if log:
            done = state["epoch"]
            eta = (time.time() - start) / (done - resumed_epoch) * (config.max_epochs - done)
            h = state["history"][-1]
            log(f"epoch {done:2d}/{config.max_epochs}  loss {h['loss']:.4f}  "
                f"val UA {h['val_ua']:.3f}  (best {state['best_val_ua']:.3f} @ {state['best_epoch']})"
                f"  {h['seconds']:.1f}s  ETA {eta:.0f}s")

    for (p, _), best in zip(params, state["best"]):
        p[...] = best
    return {"history": state["history"], "best_epoch": state["best_epoch"],
            "best_val_ua": state["best_val_ua"], "resumed_epoch": resumed_epoch}


def _patience_out(state, config):
    return (config.patience is not None
            and state["epoch"] - state["best_epoch"] >= config.patience)


def fit_elm(model, x_train, y_train, x_val, y_val, *, seed=0, **grid):
    """Fit the utterance-level ELM of a per-step model on functionals of its step posteriors.

    Hidden size and C are chosen on the validation split (docs/spec.md §5). Returns the grid table.
    """
    if not model.per_step:
        raise ParameterError(f"{model.config.method} has no ELM stage (it is not per-step)")
    f_train = utterance_functionals(model.step_posteriors(x_train))
    f_val = utterance_functionals(model.step_posteriors(x_val))
    model.elm, table = select_elm(f_train, y_train, f_val, y_val, seed=seed,
                                  n_classes=len(CLASSES), **grid)
    return table


def fit_model(model, x, y, config=TrainConfig(), *, checkpoint=None, log=print, elm_seed=0):
    """Everything one trained model needs, on one speaker split: standardise, train, fit the ELM.

    Parameters
    ----------
    model : numser.models.Model
        Freshly built; trained in place.
    x : dict of split name → ndarray (N_split, *model.input_shape)
        Must hold ``"train"`` and ``"val"``; any other split (``"test"``) is standardised too.
    y : dict of split name → ndarray (N_split,) int
    config, checkpoint, log
        As for :func:`train`.
    elm_seed : int
        Seed of the ELM's random layer (``-elm`` methods).

    Returns
    -------
    dict with ``x`` (the standardised splits, float32), ``standardiser`` (fitted on the training
    split, docs/spec.md §2.6; None for waveform input, which is not standardised), ``fit`` (the result
    of :func:`train`) and ``elm_table`` (the ELM grid, None for methods without an ELM).
    """
    scaler = None
    if model.input_kind != "waveform":                 # per-bin / per-LLD, training split only
        scaler = Standardiser().fit(x["train"])
        x = {s: scaler.transform(v).astype(np.float32) for s, v in x.items()}
    fit = train(model, x["train"], y["train"], x["val"], y["val"], config, checkpoint=checkpoint,
                log=log)
    elm_table = fit_elm(model, x["train"], y["train"], x["val"], y["val"], seed=elm_seed) \
        if model.per_step else None
    return {"x": x, "standardiser": scaler, "fit": fit, "elm_table": elm_table}


# --- saving and loading -------------------------------------------------------------------

def model_arrays(model):
    """The weights, configuration and (if fitted) ELM of ``model`` as named arrays.

    One encoding for every file that holds a model: :func:`save_model` and the self-contained
    model file of :mod:`numser.model_file` both write these names (``param_<i>``, ``config``,
    ``elm_<field>``).
    """
    arrays = {f"param_{i}": p for i, (p, _) in enumerate(model.parameters())}
    arrays["config"] = np.array(json.dumps(asdict(model.config)))
    if model.elm is not None:
        arrays.update({f"elm_{k}": np.asarray(v) for k, v in model.elm.state().items()})
    return arrays


def model_from_arrays(data, config=None):
    """Rebuild a model from :func:`model_arrays`' names (any mapping, e.g. an open ``np.load``).

    ``config`` (a ModelConfig dict) replaces ``data["config"]`` when the caller has already read
    and checked it. Raises ParameterError when a weight's shape is not the architecture's.
    """
    model = from_config(config if config is not None else json.loads(str(data["config"])))
    for i, (p, _) in enumerate(model.parameters()):
        value = data[f"param_{i}"]
        if value.shape != p.shape:
            raise ParameterError(f"weight {i} has shape {value.shape}, the architecture "
                                 f"{model.config.label()!r} needs {p.shape}")
        p[...] = value
    elm_state = {k[4:]: data[k] for k in data.keys() if k.startswith("elm_")}
    if elm_state:
        model.elm = ELM.from_state(elm_state)
    return model


def save_model(path, model):
    """Save weights, configuration and (if fitted) the ELM of ``model`` as one ``.npz``.

    For a file that can classify new audio (standardiser, feature settings, provenance) use
    :func:`numser.model_file.save_model_file`.
    """
    savez(path, **model_arrays(model))


def load_model(path):
    """Rebuild a model saved by :func:`save_model`.

    Raises
    ------
    FileFormatError
        Naming the file, for anything but a whole weights file: damaged or cut off, a
        configuration numser cannot build (checked with the model file's bounds first, so a
        damaged number cannot allocate gigabytes), weights of another shape or not finite, a
        damaged ELM.
    """
    arrays = read_npz(path, "weights file")
    raw = arrays.get("config")
    require(raw is not None and raw.ndim == 0 and raw.dtype.kind == "U", path,
            "damaged weights file: no 'config' text", "array 'config'")
    try:
        config = json.loads(str(raw))
    except (ValueError, RecursionError) as e:
        raise FileFormatError(path, f"damaged weights file: not JSON ({type(e).__name__})",
                              "array 'config'") from None
    config = check_saved_config(path, config)
    try:
        model = model_from_arrays(arrays, config)
    except Exception as e:       # noqa: BLE001 - a missing or misshapen weight or ELM array
        raise FileFormatError(path, f"damaged weights file: weights do not fit the architecture "
                                    f"({type(e).__name__}: {' '.join(str(e).split())[:120]})") \
            from None
    require(all(np.isfinite(p).all() for p, _ in model.parameters()), path,
            "damaged weights file: weights hold NaN or infinite values")
    if model.elm is not None:
        width = utterance_functionals(np.full((1, 2, len(CLASSES)), 0.25)).shape[1]
        elm = model.elm
        require(elm.A.ndim == 2 and elm.A.shape[0] == width
                and elm.beta.shape == (elm.n_hidden, len(CLASSES))
                and all(np.isfinite(a).all() for a in (elm.A, elm.b, elm.beta)), path,
                f"damaged weights file: ELM arrays are misshapen or not finite (A {elm.A.shape}, "
                f"beta {elm.beta.shape})")
    return model


def _generators(model):
    """The distinct random generators the layers hold (dropout masks), in a fixed order."""
    seen, out = set(), []

    def walk(layers):
        for layer in layers:
            rng = getattr(layer, "rng", None)
            if isinstance(rng, np.random.Generator) and id(rng) not in seen:
                seen.add(id(rng))
                out.append(rng)
            walk(getattr(layer, "layers", []))
    walk(model.layers)
    return out


def _save_checkpoint(path, model, adam, shuffle, state, config):
    meta = {"epoch": state["epoch"], "history": state["history"],
            "best_val_ua": state["best_val_ua"], "best_epoch": state["best_epoch"],
            "config": asdict(config), "shuffle": shuffle.bit_generator.state,
            "generators": [g.bit_generator.state for g in _generators(model)]}
    arrays = {f"param_{i}": p for i, (p, _) in enumerate(model.parameters())}
    arrays.update({f"best_{i}": b for i, b in enumerate(state["best"])})
    arrays.update({f"adam_{k}": v for k, v in _flatten_adam(adam.state_dict()).items()})
    arrays["meta"] = np.array(json.dumps(meta))
    savez(path, **arrays)


def _load_checkpoint(path, model, adam, shuffle, config):
    """Restore model, Adam, shuffler and dropout generators from a checked checkpoint.

    Nothing is changed unless the whole checkpoint reads back and passes
    :func:`read_checkpoint`; a FileFormatError leaves the model as it was (``train`` then starts
    the task over).
    """
    saved = read_checkpoint(path, model, config)
    for (p, _), value in zip(model.parameters(), saved["params"]):
        p[...] = value
    adam.load_state_dict(saved["adam"])
    shuffle.bit_generator.state = saved["meta"]["shuffle"]
    for g, s in zip(_generators(model), saved["meta"]["generators"]):
        g.bit_generator.state = s
    meta = saved["meta"]
    return {"epoch": meta["epoch"], "history": meta["history"], "best": saved["best"],
            "best_val_ua": float(meta["best_val_ua"]), "best_epoch": meta["best_epoch"]}


def read_checkpoint(path, model, config):
    """Read and check a checkpoint written by :func:`train` for ``model`` and ``config``.

    Returns
    -------
    dict with ``meta`` (epoch, history, best epoch and UA, generator states), ``params`` and
    ``best`` (lists of arrays shaped like ``model.parameters()``, finite) and ``adam`` (a state
    for :meth:`numser.nn.adam.Adam.load_state_dict`).

    Raises
    ------
    FileFormatError
        The file is not a whole checkpoint of this model: cut off or damaged, an array missing or
        of another shape or not finite, an epoch count or history that does not add up, a random
        generator state that cannot be restored. The message names the file and the array or
        field; :func:`train` reports it and starts the task over.
    ParameterError
        The checkpoint is whole but was written with another training configuration.
    """
    arrays = read_npz(path, "checkpoint")
    meta = _checkpoint_meta(path, arrays)
    if meta.get("config") != asdict(config):
        raise ParameterError(f"{path}: checkpoint was written with a different training "
                             f"config {meta.get('config')}; delete it to start over")
    epoch = meta.get("epoch")
    require(is_int(epoch, 1, config.max_epochs), path,
            f"must be an integer in 1..{config.max_epochs}, found {epoch!r}", "field 'epoch'")
    history = meta.get("history")
    require(isinstance(history, list) and len(history) == epoch and all(
        isinstance(h, dict) and h.get("epoch") == i + 1 and is_number(h.get("seconds"), 0.0)
        and is_number(h.get("val_ua"), 0.0, 1.0) and is_number(h.get("loss"), finite=False)
        for i, h in enumerate(history)), path,
        f"must list epochs 1..{epoch} with loss, val_ua and seconds", "field 'history'")
    require(is_int(meta.get("best_epoch"), 0, epoch), path,
            f"must be an integer in 0..{epoch}", "field 'best_epoch'")
    require(is_number(meta.get("best_val_ua"), -1.0, 1.0), path, "must be a number in [-1, 1]",
            "field 'best_val_ua'")
    generators = meta.get("generators")
    require(isinstance(generators, list) and len(generators) == len(_generators(model)), path,
            f"must hold {len(_generators(model))} generator states", "field 'generators'")
    for name, state in [("shuffle", meta.get("shuffle"))] + [
            (f"generators[{i}]", s) for i, s in enumerate(generators)]:
        _check_generator_state(path, name, state)
    own = [p for p, _ in model.parameters()]
    shapes = [p.shape for p in own]
    params = [array_like(path, arrays, f"param_{i}", s) for i, s in enumerate(shapes)]
    best = [array_like(path, arrays, f"best_{i}", s).astype(p.dtype)
            for i, (s, p) in enumerate(zip(shapes, own))]
    adam = _checkpoint_adam(path, arrays, shapes)
    for key in ("lr", "beta1", "beta2", "eps"):
        require(float(adam[key]) == getattr(config, key), path,
                f"Adam's {key} {float(adam[key])!r} is not the config's {getattr(config, key)!r}",
                f"array 'adam_{key}'")
    adam["m"] = [m.astype(p.dtype) for m, p in zip(adam["m"], own)]
    adam["v"] = [v.astype(p.dtype) for v, p in zip(adam["v"], own)]
    return {"meta": meta, "params": params, "best": best, "adam": adam}


def _checkpoint_meta(path, arrays):
    require("meta" in arrays, path, "damaged checkpoint: array 'meta' is missing (not a numser "
                                    "checkpoint?)")
    meta = arrays["meta"]
    require(meta.ndim == 0 and meta.dtype.kind == "U", path, "must be one JSON string",
            "array 'meta'")
    try:
        meta = json.loads(str(meta))
    except (ValueError, RecursionError) as e:
        raise FileFormatError(path, f"not JSON ({type(e).__name__})", "array 'meta'") from None
    require(isinstance(meta, dict), path, "must be a JSON object", "array 'meta'")
    return meta


def _check_generator_state(path, name, state):
    """A bit-generator state that a fresh generator of numser's kind accepts."""
    try:
        np.random.default_rng(0).bit_generator.state = state
    except Exception:                          # noqa: BLE001 - any refusal means a bad state
        raise FileFormatError(path, "not a random generator state numser wrote",
                              f"field '{name}'") from None


def _checkpoint_adam(path, arrays, shapes):
    """Adam's state_dict from the ``adam_*`` arrays, checked against the parameter shapes."""
    state = {}
    for key in ("lr", "beta1", "beta2", "eps", "t"):
        a = arrays.get(f"adam_{key}")
        require(a is not None and a.ndim == 0 and a.dtype.kind in "fiu"
                and np.isfinite(a) and a >= 0, path,
                "must be a finite number >= 0", f"array 'adam_{key}'")
        state[key] = a[()]
    require(float(state["t"]).is_integer(), path, "must be an integer", "array 'adam_t'")
    for key in ("m", "v"):
        n = arrays.get(f"adam_{key}_len")
        require(n is not None and n.ndim == 0 and n.dtype.kind in "iu" and n == len(shapes),
                path, f"must be {len(shapes)} (one per parameter)", f"array 'adam_{key}_len'")
        state[key] = [array_like(path, arrays, f"adam_{key}_{i}", s) for i, s in enumerate(shapes)]
    require(all((v >= 0).all() for v in state["v"]), path,
            "second moments must be >= 0", "arrays 'adam_v_*'")
    return state


def _flatten_adam(state):
    """Adam's state_dict as flat named arrays (lists of arrays become name_i)."""
    flat = {}
    for key, value in state.items():
        if isinstance(value, (list, tuple)):
            flat.update({f"{key}_{i}": v for i, v in enumerate(value)})
            flat[f"{key}_len"] = np.array(len(value))
        else:
            flat[key] = np.asarray(value)
    return flat


def _unflatten_adam(flat):
    state = {}
    for key in [k[:-4] for k in flat if k.endswith("_len")]:
        state[key] = [flat[f"{key}_{i}"] for i in range(int(flat[f"{key}_len"]))]
    for key, value in flat.items():
        if not any(key == k or key.startswith(k + "_") for k in state):
            state[key] = value[()] if value.ndim == 0 else value
    return state


if __name__ == "__main__":
    # `python -m numser.train`: the command line lives in its own module (one idea per module),
    # which imports this one: imported here, only when run as a command, to keep train free of it.
    import sys

    from numser.train_command import main    # (see above)
    sys.exit(main())

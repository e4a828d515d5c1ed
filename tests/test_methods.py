"""The method registry: one declaration per method, read by models, cv and report."""
import re
from pathlib import Path

import numpy as np
import pytest

from numser import ParameterError, methods
from numser.cv import parse_args, plan_tasks
from numser.models import build, check_config
from numser.networks import Model
from numser.nn.dense import Dense
from numser.nn.shape import Flatten

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", methods.names())
def test_declared_input_kind_is_the_built_models(name):
    model = build(name, kernel=(2, 2, 2))
    assert model.input_kind == methods.get(name).input_kind
    assert model.config.label() == methods.get(name).label(model.config)


def test_a_method_name_appears_in_one_module_of_the_package():
    """Outside methods.py no module of numser/ spells a method's name (help texts take theirs
    from the registry)."""
    names = methods.names()
    assert len(names) == 7
    found = {}
    for path in sorted((ROOT / "numser").rglob("*.py")):
        if path.name == "methods.py":
            continue
        text = path.read_text(encoding="utf-8")
        for name in names:
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
                found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert not found


def test_the_papers_registry_orders_and_flags():
    assert methods.names() == ("3d-cnn-dnn", "3d-cnn-dnn-elm", "dnn-elm", "lstm-elm",
                               "2d-cnn-lstm", "2d-cnn-lstm-dnn", "1d-cnn-lstm")
    assert methods.names(default=True) == ("3d-cnn-dnn", "3d-cnn-dnn-elm", "dnn-elm", "lstm-elm")
    assert methods.names(proposed=True) == ("3d-cnn-dnn", "3d-cnn-dnn-elm")
    assert sorted(methods.names(figure=True), key=methods.table_rank) == [
        "dnn-elm", "lstm-elm", "2d-cnn-lstm-dnn", "3d-cnn-dnn"]
    assert sorted(methods.names(), key=methods.table_rank) == [
        "dnn-elm", "lstm-elm", "1d-cnn-lstm", "2d-cnn-lstm", "2d-cnn-lstm-dnn", "3d-cnn-dnn",
        "3d-cnn-dnn-elm"]
    assert methods.table_rank("not-registered") > methods.table_rank("3d-cnn-dnn-elm")


def test_check_config_refuses_what_build_refuses_without_building():
    with pytest.raises(ParameterError, match="an axis reaches zero"):
        check_config("3d-cnn-dnn", kernel=(2, 2, 2), depth=6)
    with pytest.raises(ParameterError, match="unknown method 'nope'"):
        check_config("nope")
    assert check_config("3d-cnn-dnn", kernel=(2, 2, 2), depth=3).label() == "depth 3, 2x2x2"


def _tiny(config, rng):
    return Model(config, [Flatten(), Dense(198 * 32, 4, rng=rng)], "lld", False, (198, 32))


def test_register_plans_builds_and_refuses_bad_declarations():
    toy = methods.Method("toy-linear", _tiny, "lld", axes=("context",),
                         label=lambda c: f"linear, context {c.context}")
    try:
        assert methods.register(toy) is toy
        with pytest.raises(ParameterError, match="already registered"):
            methods.register(toy)
        methods.register(toy, replace=True)
        args = parse_args(["--methods", "toy-linear,dnn-elm", "--context", "3", "--only-folds", "0"])
        assert [t.name for t in plan_tasks(args)] == ["toy-linear__context3__fold0",
                                                      "dnn-elm__context3__fold0"]
        model = build("toy-linear", context=3, seed=1)
        assert model.n_params() == 198 * 32 * 4 + 4 and model.config.label() == "linear, context 3"
        assert model.predict(np.zeros((2, 198, 32), np.float32)).shape == (2,)
        # --table4 and --table3 leave out a method declared without those tables
        table4 = plan_tasks(parse_args(["--table4"]))
        assert "toy-linear" not in {t.method for t in table4}
    finally:
        methods.unregister("toy-linear")
    assert methods.find("toy-linear") is None
    for bad, message in ((methods.Method("a b", _tiny, "lld"), "letters, digits"),
                         (methods.Method("toy", _tiny, "lld", axes=("width",)), "unknown axes"),
                         ("toy", "takes a numser.methods.Method")):
        with pytest.raises(ParameterError, match=message):
            methods.register(bad)

"""The package's shape (issue 15): short functions, no import cycles, no unexplained lazy imports.

Checked on the source with ``ast``, without importing anything:
- no function or method in ``numser/`` longer than 80 lines of code (blank lines, comment lines and
  its docstring not counted; a nested function counts in its parent too);
- the graph "module A imports module B" over ``numser/`` has no cycle (an import anywhere in a
  module counts, a function-local one too; the ``if __name__ == "__main__":`` block of a command
  does not: it runs only when the module is ``__main__``, not ``numser.x``);
- an import inside a function or block says why, in a comment on its line or on a line above it
  in the same group of lines.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "numser"
MAX_LINES = 80


def _modules():
    """{dotted module name: path} of every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def code_lines(source_lines, node):
    """Lines of a function that hold code: not blank, not only a comment, not its docstring."""
    lines = set(range(node.lineno, node.end_lineno + 1))
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        lines -= set(range(first.lineno, first.end_lineno + 1))
    return sorted(n for n in lines if source_lines[n - 1].strip()
                  and not source_lines[n - 1].strip().startswith("#"))


def long_functions(path, limit=MAX_LINES):
    """(name, line, code lines) of every function of ``path`` longer than ``limit``."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    return [(node.name, node.lineno, len(code_lines(lines, node)))
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and len(code_lines(lines, node)) > limit]


def _without_main_block(tree):
    tree.body = [n for n in tree.body if not (
        isinstance(n, ast.If) and "__main__" in ast.unparse(n.test))]
    return tree


def imported_modules(name, path, modules=MODULES):
    """The package's modules that module ``name`` imports (outside its ``__main__`` block)."""
    tree = _without_main_block(ast.parse(path.read_text(encoding="utf-8")))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([node.module] if node.module else []))
            # `from pkg import submodule` depends on the submodule, not on pkg's own code
            subs = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules}
            out |= subs
            if len(subs) < len(node.names):
                out.add(base)
    return {m for m in out if m in modules and m != name}


def import_cycles(graph):
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def unexplained_local_imports(path):
    """(line, statement) of every import below the module's top level without a comment on its
    line or the line above."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    top = set(id(n) for n in ast.parse(source).body)
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node.col_offset > 0:
            # the comment may sit on this line or on a line above it in the same group of
            # lines (up to a blank line or the def): one comment for `import a; a.use(); import b`
            n = node.lineno - 1
            while n >= 0 and lines[n].strip() and not lines[n].lstrip().startswith("def ") \
                    and "#" not in lines[n]:
                n -= 1
            if n < 0 or "#" not in lines[n]:
                out.append((node.lineno, lines[node.lineno - 1].strip()))
    assert top  # the module parsed
    return out


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_function_is_longer_than_80_lines(name):
    assert not long_functions(MODULES[name]), \
        f"{name}: functions over {MAX_LINES} lines of code: {long_functions(MODULES[name])}"


def test_no_import_cycles():
    graph = {name: imported_modules(name, path) for name, path in MODULES.items()}
    assert not import_cycles(graph)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_function_local_imports_say_why(name):
    assert not unexplained_local_imports(MODULES[name])


def test_the_checks_catch_what_they_are_for(tmp_path):
    """Each check fails on a small bad example (so a passing suite means something)."""
    long = tmp_path / "long.py"
    long.write_text("def f():\n    '''doc'''\n" + "    x = 1\n" * 81
                    + "    # a comment\n\n" + "def g():\n" + "    x = 1\n" * 79)
    assert [(n, c) for n, _, c in long_functions(long)] == [("f", 82)]
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
    lazy = tmp_path / "lazy.py"
    lazy.write_text("import os\n\ndef f():\n    import json\n    # optional dependency\n"
                    "    import csv\n    import io  # start-up time\n\n    import re\n")
    assert unexplained_local_imports(lazy) == [(4, "import json"), (9, "import re")]
    pkg = {"numser.x": None, "numser.y": None, "numser": None}
    mod = tmp_path / "x.py"
    mod.write_text("from numser import y\n\ndef f():\n    from numser.x import z\n"
                   "if __name__ == '__main__':\n    import numser.y\n")
    assert imported_modules("numser.x", mod, pkg) == {"numser.y"}

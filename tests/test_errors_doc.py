"""docs/errors.md cannot go stale: it is checked against every place numser raises an error.

The raise sites are found in the syntax tree of every ``numser/**/*.py``: ``raise
ParameterError|FileFormatError|AudioError|OutputError(...)``, ``raise _fail(path, reason)``
(audio) and ``require(condition, path, reason)`` (the readers). Each site's message becomes a
template: the literal text of its f-string with every ``{...}`` replaced by ``…``.

- The index at the end of docs/errors.md (between the ``generated`` markers) must equal what
  :func:`index_markdown` makes from the code now; ``python tests/test_errors_doc.py --write``
  rewrites it after a change.
- Every documented message (the backticked first cell of a row of the explained tables) must
  occur in some site's template, so no explanation outlives its error.
- Every site in a module a command-line user meets (:data:`USER_FACING`) must contain one of the
  documented messages, so no error a user can meet is unexplained.
"""
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "errors.md"
ERRORS = {"ParameterError", "FileFormatError", "AudioError", "OutputError"}
BEGIN, END = "<!-- generated: raise sites (tests/test_errors_doc.py --write) -->", \
    "<!-- end of generated raise sites -->"

#: Modules whose errors a command-line user can meet (commands, corpora, files, audio). The
#: other modules' errors are for Python callers (a wrong argument to a layer or a metric).
USER_FACING = ("numser/cv.py", "numser/report.py", "numser/cli.py", "numser/predict.py",
               "numser/train_command.py", "numser/corpora/", "numser/audio.py",
               "numser/readers.py", "numser/taskfile.py", "numser/model_file.py",
               "numser/atomic.py", "numser/errors.py", "numser/folds.py")
#: ...and in the other modules, these functions (file readers, the corpus scan).
USER_FACING_FUNCTIONS = {("numser/train.py", "read_checkpoint"),
                         ("numser/train.py", "_checkpoint_meta"),
                         ("numser/train.py", "_check_generator_state"),
                         ("numser/train.py", "_checkpoint_adam"),
                         ("numser/train.py", "_load_checkpoint"),
                         ("numser/features.py", "read_range_entry"),
                         ("numser/features.py", "read_feature_entry"),
                         ("numser/features.py", "extract_features")}


def _template(node):
    """The literal text of a message expression; ``…`` for every computed part."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "…" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _template(node.left) + _template(node.right)
    if isinstance(node, ast.IfExp):
        return _template(node.body) + " | " + _template(node.orelse)
    return "…"


def _message(call, kind):
    """The template of the message a raise-site call builds."""
    args = list(call.args)
    if kind in ("FileFormatError", "require", "_fail"):
        first = 2 if kind == "require" else 1              # after the condition and the path
        keywords = {k.arg: k.value for k in call.keywords}
        reason = args[first] if len(args) > first else keywords.get("reason")
        where = args[first + 1] if len(args) > first + 1 else keywords.get("where")
        where = "" if where is None or (isinstance(where, ast.Constant) and where.value is None) \
            else ", " + _template(where)
        return f"…{where}: " + (_template(reason) if reason is not None else "…")
    if kind == "OutputError":
        return "…: cannot write (…); …"
    return _template(args[0]) if args else ""


def sites():
    """(module, function, error type, message template) of every raise site, in file order."""
    out = []
    for path in sorted((ROOT / "numser").rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func, node in _calls(tree):
            name = node.func.id if isinstance(node.func, ast.Name) else \
                node.func.attr if isinstance(node.func, ast.Attribute) else None
            if name in ERRORS:
                kind = name
            elif name in ("_fail", "require") and node.args:
                kind = name
            else:
                continue
            error = {"_fail": "AudioError", "require": "FileFormatError"}.get(kind, kind)
            message = " ".join(_message(node, kind).split())
            out.append((module, func, error, message))
    return out


def _calls(tree):
    """(enclosing function or Class.method, Call node) of every raise X(...) and require(...)."""
    found = []

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            name = func                         # a nested function reports its outer function
            if isinstance(child, ast.ClassDef) and func == "<module>":
                name = child.name
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if func == "<module>":
                    name = child.name
                elif isinstance(node, ast.ClassDef):
                    name = f"{func}.{child.name}"   # Class.method: test_docs resolves it
            if isinstance(child, ast.Raise) and isinstance(child.exc, ast.Call):
                found.append((func, child.exc))
            elif isinstance(child, ast.Expr) and isinstance(child.value, ast.Call) and \
                    isinstance(child.value.func, ast.Name) and child.value.func.id == "require":
                found.append((func, child.value))
            visit(child, name)
    visit(tree, "<module>")
    return found


def index_markdown():
    """The generated index: every raise site of numser, by module."""
    lines = [BEGIN, "", "| where | error | message (… = filled in) |", "|---|---|---|"]
    seen = set()
    for module, func, error, message in sites():
        key = (module, func, error, message)
        if key in seen or (error == "OutputError" and module == "numser/errors.py"):
            continue
        seen.add(key)
        text = message.replace("|", "\\|").replace("`", "'")
        lines.append(f"| `{module}::{func}` | {error} | {text} |")
    return "\n".join(lines + ["", END])


def documented():
    """The backticked first cells of the explained tables (``| message | what it means | ...``)
    above the generated index."""
    out, explaining = [], False
    for line in DOC.read_text(encoding="utf-8").split(BEGIN)[0].splitlines():
        if not line.startswith("|"):
            explaining = False
        elif line.startswith("| message |"):
            explaining = True
        elif explaining and (m := re.match(r"\| `([^`]+)` \|", line)):
            out.append(m.group(1).replace("\\|", "|"))
    return out


def test_generated_index_is_current():
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"{DOC} lacks the generated index markers"
    current = text[text.index(BEGIN):text.index(END) + len(END)]
    assert current == index_markdown(), \
        "docs/errors.md's index is stale: run python tests/test_errors_doc.py --write"


def test_every_documented_message_exists():
    templates = [m for *_, m in sites()]
    stale = [d for d in documented() if not any(_matches(d, t) for t in templates)]
    assert not stale, f"docs/errors.md explains messages numser no longer raises: {stale}"


def test_every_user_facing_error_is_explained():
    docs = documented()
    missing = [f"{module}::{func}: {message}" for module, func, _, message in sites()
               if _user_facing(module, func) and re.search(r"\w", message)  # not a forwarder
               and not any(_matches(d, message) for d in docs)]
    assert not missing, ("errors a user can meet that docs/errors.md does not explain (add a row "
                         "'| `message with … for the filled-in parts` | what it means | what to "
                         "do |' to its tables):\n" + "\n".join(missing))


def _user_facing(module, func):
    return module.startswith(USER_FACING) or (module, func) in USER_FACING_FUNCTIONS


def _matches(doc, template):
    """A documented message matches a template when its literal parts occur in order."""
    parts = [p.strip() for p in doc.split("…") if p.strip()]
    pos = 0
    for part in parts:
        pos = template.find(part, pos)
        if pos < 0:
            return False
        pos += len(part)
    return bool(parts)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        text = DOC.read_text(encoding="utf-8")
        head = text.split(BEGIN)[0]
        DOC.write_text(head + index_markdown() + "\n", encoding="utf-8")
        print(f"rewrote the index of {DOC}")
    else:
        for site in sites():
            print(" | ".join(site))

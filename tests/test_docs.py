"""The documentation matches the code: links resolve, and every named function or class exists.

For ``README.md``, ``examples/README.md`` and every ``docs/*.md``:
- every relative Markdown link ``[text](target)`` or ``![alt](target)`` outside fenced code
  blocks points to an existing file or folder (resolved from the page's folder; a ``#section``
  suffix is ignored, web links and pure anchors are not checked);
- every reference ``path/to/module.py::name`` or ``path/to/module.py::Class.method``, in prose,
  inline code or code blocks, names something that exists: for ``numser/…`` the module is
  imported and the dotted name looked up with getattr; for other files (``tests/…``,
  ``benchmarks/…``, ``examples/…``) the name is found in the file's syntax tree, without running it;
- every repository path written in inline code (``numser/…``, ``tests/…``, ``examples/…``,
  ``benchmarks/…``, ``docs/…`` ending in ``.py``, ``.md`` or ``/``) exists;
- every table marked ``<!-- numbers from: FILE#Section -->`` holds the numbers of the generated
  results file it names, row by row.
"""
import ast
import importlib
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ([ROOT / "README.md", ROOT / "examples" / "README.md"]
         + sorted((ROOT / "docs").glob("*.md")))

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"\b((?:numser|tests|benchmarks|examples)/[\w/]*\w\.py)::([A-Za-z_][\w.]*)")
CODE_PATH = re.compile(r"`((?:numser|tests|examples|benchmarks|docs)/[\w./-]*(?:\.py|\.md|/))`")
GENERATED = {"examples/out/"}
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)


def _ids(pages):
    return [str(p.relative_to(ROOT)) for p in pages]


def _without_fences(text):
    """The page with fenced code blocks blanked (line numbers kept): links there are just text."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _line(text, pos):
    return text.count("\n", 0, pos) + 1


def links(page):
    """(line, target) of every relative link of a page, outside fenced code."""
    text = _without_fences(page.read_text(encoding="utf-8"))
    out = []
    for m in LINK.finditer(text):
        target = m.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue                                    # web links, mailto:, in-page anchors
        out.append((_line(text, m.start()), target))
    return out


def references(page):
    """(line, file, dotted name) of every ``file.py::name`` reference of a page."""
    text = page.read_text(encoding="utf-8")
    return [(_line(text, m.start()), m.group(1), m.group(2).rstrip("."))
            for m in REFERENCE.finditer(text)]


def _defined_in_source(path, dotted):
    """True when ``dotted`` (``f`` or ``Class.method``) is defined or assigned in a Python file."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    for part in dotted.split("."):
        found = None
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and node.name == part:
                found = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == part for t in targets):
                    found = node
        if found is None:
            return False
        body = getattr(found, "body", [])
    return True


def resolve_reference(file, dotted):
    """None when ``file::dotted`` names something that exists, else the reason it does not."""
    path = ROOT / file
    if not path.is_file():
        return f"{file} does not exist"
    if not file.startswith("numser/"):
        return None if _defined_in_source(path, dotted) else f"{file} defines no {dotted!r}"
    module_name = file[:-3].replace("/", ".")
    if module_name.endswith(".__init__"):
        module_name = module_name[:-len(".__init__")]
    try:
        obj = importlib.import_module(module_name)
    except Exception as e:                              # noqa: BLE001 — report any import failure
        return f"import {module_name} failed: {type(e).__name__}: {e}"
    for i, part in enumerate(dotted.split(".")):
        if not hasattr(obj, part):
            where = ".".join([module_name] + dotted.split(".")[:i])
            return f"{where} has no attribute {part!r}"
        obj = getattr(obj, part)
    return None


def test_pages_found():
    assert (ROOT / "README.md").is_file() and len(PAGES) > 1, f"no Markdown pages under {ROOT}"


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_relative_links_resolve(page):
    broken = []
    for line, target in links(page):
        path = page.parent / target.split("#", 1)[0]
        if not path.exists():
            broken.append(f"{page.relative_to(ROOT)}:{line}: ({target}) → no such file "
                          f"{os.path.relpath(path, ROOT)}")
    assert not broken, "broken links:\n" + "\n".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_code_references_exist(page):
    missing = []
    for line, file, dotted in references(page):
        reason = resolve_reference(file, dotted)
        if reason:
            missing.append(f"{page.relative_to(ROOT)}:{line}: {file}::{dotted}: {reason}")
    assert not missing, "references to code that does not exist:\n" + "\n".join(missing)


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_paths_in_code_spans_exist(page):
    text = page.read_text(encoding="utf-8")
    # output folders the examples create (git-ignored) are absent from a clean clone
    missing = [f"{page.relative_to(ROOT)}:{_line(text, m.start())}: `{m.group(1)}` does not exist"
               for m in CODE_PATH.finditer(text)
               if not (ROOT / m.group(1)).exists() and m.group(1) not in GENERATED]
    assert not missing, "paths that do not exist:\n" + "\n".join(missing)


# --- the checker itself: a broken form must be caught, a good one passed --------------------

def test_checker_catches_broken_forms(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("See [a](missing.md), [b](https://example.org), [c](#top),\n"
                    "```\n[d](not-a-link-in-code.md)\n```\n"
                    "`numser/elm.py::ELM.fit`, `numser/elm.py::ELM.no_such`, "
                    "`numser/no_module.py::x`, `tests/test_docs.py::test_pages_found`.\n",
                    encoding="utf-8")
    assert [t for _, t in links(page)] == ["missing.md"]
    refs = {(f, d): resolve_reference(f, d) for _, f, d in references(page)}
    assert refs[("numser/elm.py", "ELM.fit")] is None
    assert "no attribute 'no_such'" in refs[("numser/elm.py", "ELM.no_such")]
    assert "does not exist" in refs[("numser/no_module.py", "x")]
    assert refs[("tests/test_docs.py", "test_pages_found")] is None
    assert "defines no" in resolve_reference("tests/test_docs.py", "no_such_test")


# --- citations of docs/spec.md ------------------------------------------------------------------

SPEC_PAGE = ROOT / "docs" / "spec.md"
SPEC_CITATION = re.compile(r"docs/spec\.md §(\d+(?:\.\d+)?)(?:[–-](\d+(?:\.\d+)?))?")
#: Words that would point a reader at a file outside the repository.
OUTSIDE = re.compile(r"\bSPEC\b(?!\"|_)|DEVELOPERS\.md|STYLE\.md|paper\.txt|shared/SPEC")
SOURCES = sorted(p for d in ("numser", "tests", "examples", "benchmarks", "docs")
                 for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".md")) + [
    ROOT / "README.md", ROOT / "setup.py"]


def spec_sections():
    """The section numbers of docs/spec.md: '3' for '## 3. …', '2.4' for '### 2.4 …'."""
    text = SPEC_PAGE.read_text(encoding="utf-8")
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", text, re.M))


def test_spec_citations_resolve():
    sections = spec_sections()
    assert {"1", "2", "2.4", "3", "6"} <= sections, sorted(sections)
    bad, count = [], 0
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for m in SPEC_CITATION.finditer(text):
            count += 1
            for number in filter(None, m.groups()):
                if number not in sections:
                    bad.append(f"{path.relative_to(ROOT)}:{_line(text, m.start())}: {m.group(0)}")
    assert count > 100, f"only {count} citations of docs/spec.md found"
    assert not bad, "citations of sections docs/spec.md does not have:\n" + "\n".join(bad)


def test_nothing_points_outside_the_repository():
    this_file = Path(__file__).resolve()
    found = []
    for path in SOURCES:
        if path.resolve() == this_file:
            continue
        text = path.read_text(encoding="utf-8")
        for m in OUTSIDE.finditer(text):
            context = text[max(0, m.start() - 12):m.end()]
            if "--corpus SPEC" in context or 'metavar="SPEC' in context:
                continue                       # the corpus-spec argument, not the old file
            found.append(f"{path.relative_to(ROOT)}:{_line(text, m.start())}: {m.group(0)}")
    assert not found, ("references to files outside the repository (cite docs/spec.md "
                       "instead):\n" + "\n".join(found))


# --- numbers of result tables -------------------------------------------------------------------
#
# A table right after a line   <!-- numbers from: FILE#Section; FILE -->   copies its numbers from
# those generated files (paths from the repository root; #Section: the part of FILE under the
# heading "## Section…", else all of it). Every row must stand in the sources under the same
# method and configuration (or, in tables without a configuration column, the same first cell),
# and each of its numbers in the source cell of the same column name, written alike; a column
# the sources do not name (a renamed or combined one) is checked against the whole source row.
# A typo, a stale copy, two swapped columns and a row the sources do not have all fail.

NUMBERS_FROM = re.compile(r"^<!-- numbers from: (.+?) -->\n((?:\|.*\n?)+)", re.M)
NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?")


def _norm(text):
    return " ".join(text.replace("×", "x").replace("−", "-").replace("e+", "e").lower().split())


def _table_rows(lines):
    """(key, {column name: number strings}) of each body row of one Markdown table; the key is
    the first cell, with the second when the header calls it 'configuration'."""
    header, _, *body = [[_norm(c) for c in line.strip().strip("|").split("|")] for line in lines]
    width = 2 if len(header) > 1 and header[1] == "configuration" else 1
    return [(tuple(row[:width]), {name: NUMBER.findall(cell)
                                  for name, cell in zip(header[width:], row[width:])})
            for row in body]


def _source_rows(spec, root):
    """The (key, cells) rows of every table in ``FILE`` or ``FILE#Section`` under ``root``."""
    file, _, section = spec.strip().partition("#")
    text = (root / file).read_text(encoding="utf-8")
    if section:
        parts = [p for p in re.split(r"^## ", text, flags=re.M) if p.startswith(section)]
        assert parts, f"{file} has no section '## {section}'"
        text = parts[0]
    tables = re.findall(r"(?:^\|.*\n?)+", text, re.M)
    return [row for table in tables for row in _table_rows(table.splitlines())]


def copied_numbers(page_text, root=ROOT):
    """For every marked table of a page: (line, row key, the numbers its sources lack), with
    None for the numbers when no source has the row."""
    problems = []
    for m in NUMBERS_FROM.finditer(page_text):
        sources = [row for spec in m.group(1).split(";") for row in _source_rows(spec, root)]
        first = _line(page_text, m.start(2))
        for i, (key, cells) in enumerate(_table_rows(m.group(2).splitlines())):
            same_row = [source for k, source in sources if k == key]
            if not same_row:
                problems.append((first + 2 + i, key, None))
                continue
            missing = []
            for name, numbers in cells.items():
                named = [source[name] for source in same_row if name in source]
                have = set().union(*(named or [ns for source in same_row for ns in source.values()]))
                missing += [n for n in numbers if n not in have]
            if missing:
                problems.append((first + 2 + i, key, missing))
    return problems


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_result_tables_hold_the_numbers_of_their_generated_files(page):
    problems = [f"{page.relative_to(ROOT)}:{line}: {' | '.join(key)}: "
                + ("no such row in the files it names" if missing is None
                   else f"{', '.join(missing)} not in that row there")
                for line, key, missing in copied_numbers(page.read_text(encoding="utf-8"))]
    assert not problems, "result tables that differ from their sources:\n" + "\n".join(problems)


def test_number_check_catches_a_typo_a_swap_and_a_missing_row(tmp_path):
    (tmp_path / "t.md").write_text("## Table 4 — UA\n\n| method | configuration | UA | p |\n"
                                   "|---|---|---|---|\n| lstm-elm | 2 x LSTM 128 | 0.541 ± 0.030 "
                                   "| 1.6e-18 * |\n\n## Other\n\n| method | UA |\n|---|---|\n"
                                   "| dnn-elm | 0.529 |\n", encoding="utf-8")
    page = ("<!-- numbers from: t.md#Table 4 -->\n"
            "| method | configuration | UA | p |\n|---|---|---|---|\n"
            "| LSTM-ELM | 2 × LSTM 128 | 0.541 ± 0.030 | 1.6e-18 |\n"
            "| LSTM-ELM | 2 × LSTM 128 | 0.541 ± 0.031 | 1.6e-18 |\n"
            "| DNN-ELM | 3 × FC 256 | 0.529 | 0.9 |\n"
            "| LSTM-ELM | 2 × LSTM 128 | 1.6e-18 | 0.541 ± 0.030 |\n")
    assert copied_numbers(page, tmp_path) == [
        (5, ("lstm-elm", "2 x lstm 128"), ["0.031"]), (6, ("dnn-elm", "3 x fc 256"), None),
        (7, ("lstm-elm", "2 x lstm 128"), ["1.6e-18", "0.541", "0.030"])]
    assert copied_numbers(page.replace("#Table 4", ""), tmp_path) == copied_numbers(page, tmp_path)
    renamed = ("<!-- numbers from: t.md#Table 4 -->\n| method | configuration | UA and p |\n"
               "|---|---|---|\n| lstm-elm | 2 x LSTM 128 | 1.6e-18, 0.541 |\n"
               "| lstm-elm | 2 x LSTM 128 | 0.9 |\n")      # a column the source does not name
    assert copied_numbers(renamed, tmp_path) == [(5, ("lstm-elm", "2 x lstm 128"), ["0.9"])]

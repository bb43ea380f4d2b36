"""Keep the "Tested by" lists of docs/rules.md true: which tests cite each rule.

The rule ids are the anchors of docs/rules.md (``{#C1}``). A test cites a rule by its id
(``C1``, ``I4``, a range such as ``V1-V7``) in its name (``test_f1_...``), its docstring or a
comment inside it; a test module cites it in its docstring or in a comment outside any
function or class. Tests are the ``test*`` functions and the classes (state machines, test
classes: each method apart) of ``tests/`` and of the contract suites ocop ships
(``src/ocop/testing/_*_contract.py``); fixtures and helpers do not count, nor does the
docstring of a module that holds no test.

    python tools/rule_index.py           # print each rule's list
    python tools/rule_index.py --write   # rewrite docs/rules.md between its markers
    python tools/rule_index.py --check   # exit 1 when docs/rules.md is out of date

The same module finds the rule ids that ocop's own text cites (``I5: ...``, ``(O3)``):
every one must be an anchor of docs/rules.md (tests/unit/test_rules_doc.py).
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "rules.md"

ANCHOR = re.compile(r"\{#([A-Z][0-9]{1,2})\}")
# A list between its markers (blank lines around, so that markdown keeps it apart).
BLOCK = re.compile(
    r"(<!-- tested-by ([A-Z][0-9]{1,2}) -->\n\n)(.*?)(<!-- /tested-by -->)", re.DOTALL
)
_RULE = r"[A-Z][0-9]{1,2}"
_DASH = r"[-\u2013]"  # a hyphen or an en dash, as in V1-V7
# An id standing alone: not part of a word, a line id (``L1.A1``), a key (``L1#1``, ``:L1:``).
_ALONE_BEFORE = r"(?<![\w.#/:-])"
_ALONE_AFTER = r"(?![\w#-]|\.\w)"
RANGE = re.compile(
    _ALONE_BEFORE + r"([A-Z])([0-9]{1,2}) ?" + _DASH + r" ?\1?([0-9]{1,2})" + _ALONE_AFTER
)
ID = re.compile(_ALONE_BEFORE + f"({_RULE})" + _ALONE_AFTER)
NAME_PART = re.compile(r"[a-z][0-9]{1,2}")
# How ocop's text cites a rule: ``I5: ...``, or in parentheses: ``(O3)``, ``(S1, S2)``,
# ``(rule O2: ...``, ``(C1-C6)``.
_GROUP = f"(?:{_RULE}(?:{_DASH}[A-Z]?[0-9]{{1,2}})?(?:, | and |, and )?)+"
CITED = re.compile(
    _ALONE_BEFORE + f"({_RULE}):(?!\\w)" + f"|\\((?:rule |rules |see )?({_GROUP})[:),]"
)

Index = dict[str, dict[str, list[str]]]  # rule id -> file -> test names ("" for the module)


def rule_ids(doc: str) -> tuple[str, ...]:
    """The rule ids docs/rules.md anchors, in its order."""
    return tuple(ANCHOR.findall(doc))


def ids_in(text: str) -> set[str]:
    """Every rule-shaped id ``text`` names alone, ranges (``V1-V7``) spelt out."""
    found: set[str] = set()
    for letter, first, last in RANGE.findall(text):
        found.update(f"{letter}{n}" for n in range(int(first), int(last) + 1))
    found.update(ID.findall(RANGE.sub(" ", text)))
    return found


def _name_ids(name: str) -> set[str]:
    """The ids a test name carries in its parts (``test_f1_refuses`` -> F1)."""
    return {part.upper() for part in name.split("_") if NAME_PART.fullmatch(part)}


def _comments(source: str) -> list[tuple[int, str]]:
    """Every comment of ``source``, with its line."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [(t.start[0], t.string) for t in tokens if t.type == tokenize.COMMENT]


MACHINE_DECORATORS = frozenset({"rule", "invariant", "initialize", "precondition"})


def _is_machine(node: ast.ClassDef) -> bool:
    """A hypothesis state machine: every method of it takes part in its test."""
    return any(
        isinstance(target := d.func if isinstance(d, ast.Call) else d, ast.Name)
        and target.id in MACHINE_DECORATORS
        for item in node.body
        if isinstance(item, ast.FunctionDef)
        for d in item.decorator_list
    )


def _spans(tree: ast.Module) -> Iterator[tuple[str, int, int, set[str]]]:
    """Each test of a module: its name, its lines and the ids of its name and docstrings.

    Tests are the module's ``test*`` functions, the ``test*`` methods of its ``Test*`` and
    ``*Contract`` classes, and every method of its state machines (a class stands for its
    own docstring); nothing else (fixtures, helpers) counts.
    """
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name.startswith("test"):
                yield node.name, _start(node), _end(node), _own_ids(node)
        elif isinstance(node, ast.ClassDef):
            machine = _is_machine(node)
            if not (machine or node.name.startswith("Test") or node.name.endswith("Contract")):
                continue
            own = _name_ids(node.name) | ids_in(ast.get_docstring(node, clean=False) or "")
            yield node.name, _start(node), _end(node), own
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and (
                    machine or item.name.startswith("test")
                ):
                    name = f"{node.name}.{item.name}"
                    yield name, _start(item), _end(item), _own_ids(item)


Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _start(node: Definition) -> int:
    """The first line of a definition, its decorators included."""
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


def _end(node: ast.stmt) -> int:
    return node.end_lineno or node.lineno


def _own_ids(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The ids of a test's name and of every docstring inside it."""
    found = _name_ids(node.name)
    for inner in ast.walk(node):
        if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found |= ids_in(ast.get_docstring(inner, clean=False) or "")
    return found


def cited_by_tests(path: Path) -> dict[str, set[str]]:
    """Test name ("" for the module) -> the rule-shaped ids it cites, for one file.

    A module cites only when it holds tests: a helper module's docstring checks nothing.
    """
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    spans = list(_spans(tree))
    if not spans:
        return {}
    found: dict[str, set[str]] = {"": ids_in(ast.get_docstring(tree, clean=False) or "")}
    for name, _, _, ids in spans:
        found.setdefault(name, set()).update(ids)
    definitions = [(_start(n), _end(n)) for n in tree.body if isinstance(n, Definition)]
    for line, comment in _comments(source):
        owners = [name for name, first, last, _ in spans if first <= line <= last]
        if owners:
            found[owners[-1]] |= ids_in(comment)  # the method rather than its class
        elif not any(first <= line <= last for first, last in definitions):
            found[""] |= ids_in(comment)  # a comment between definitions: the module's
    return {name: ids for name, ids in found.items() if ids}


def sources_of_tests(root: Path) -> list[Path]:
    """The files whose tests may cite rules."""
    tests = sorted((root / "tests").rglob("*.py"))
    return [*tests, *sorted((root / "src" / "ocop" / "testing").glob("_*_contract.py"))]


def index(root: Path, ids: Iterable[str]) -> Index:
    """For every rule id, the files and tests that cite it."""
    result: Index = {rule: {} for rule in ids}
    for path in sources_of_tests(root):
        relative = path.relative_to(root).as_posix()
        for name, cited in cited_by_tests(path).items():
            for rule in sorted(cited & result.keys()):
                result[rule].setdefault(relative, []).append(name)
    return result


def render(tests: dict[str, list[str]]) -> str:
    """One rule's "Tested by" list, as markdown."""
    if not tests:
        return "**Tested by:** no test cites this rule yet.\n"
    lines = ["**Tested by:**", ""]
    for path in sorted(tests):
        names = sorted(tests[path], key=lambda name: (name != "", name))
        shown = ", ".join("the module" if not n else f"`{n}`" for n in names)
        lines.append(f"- `{path}`: {shown}")
    return "\n".join(lines) + "\n"


def updated(doc: str, found: Index) -> str:
    """``doc`` with every marked list rewritten from ``found``."""
    return BLOCK.sub(lambda m: m[1] + render(found.get(m[2], {})) + "\n" + m[4], doc)


def cited_in_source(root: Path) -> dict[str, list[str]]:
    """Rule id -> where ocop's string literals (messages, docstrings) cite it."""
    found: dict[str, list[str]] = {}
    for path in sorted((root / "src" / "ocop").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                where = f"{path.relative_to(root).as_posix()}:{node.lineno}"
                for rule in sorted(citations(node.value)):
                    found.setdefault(rule, []).append(where)
    return found


def citations(text: str) -> set[str]:
    """The rule ids ``text`` cites the way ocop's messages do."""
    found: set[str] = set()
    for single, group in CITED.findall(text):
        found |= {single} if single else ids_in(group)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite docs/rules.md")
    action.add_argument("--check", action="store_true", help="fail when it is out of date")
    args = parser.parse_args(argv)
    doc = DOC.read_text(encoding="utf-8")
    found = index(ROOT, rule_ids(doc))
    fresh = updated(doc, found)
    if args.write:
        DOC.write_text(fresh, encoding="utf-8")
    elif args.check:
        if fresh != doc:
            print("docs/rules.md is out of date: run python tools/rule_index.py --write")
            return 1
    else:
        for rule, tests in found.items():
            print(f"{rule}\n{render(tests)}")
    untested = [rule for rule, tests in found.items() if not tests]
    if untested:
        print("no test cites: " + ", ".join(untested), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

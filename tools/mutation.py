"""Mutation testing of ``ocop.domain`` and ``ocop.services``: a seeded sample, stratified by module.

Run from the repository root (``make mutation`` does); docs/mutation.md explains the report.

1. mutmut writes every mutant of the files ``[tool.mutmut] only_mutate`` names into ``mutants/``
   (a fresh copy each run, unless ``--resume`` or ``--report-only``).
2. A sample of ``--sample`` mutants is drawn with ``--seed``: each module (source file) gets a
   share proportional to its number of mutants (largest remainder), and at least
   ``--min-per-module`` of them. The same seed over the same sources draws the same sample.
3. ``mutmut run NAME...`` tests the sample; each mutant runs only the tests that called its
   function when mutmut first ran the suite (``pytest_add_cli_args_test_selection``).
4. The report (``report.md``, ``report.json`` in ``--out``) gives the score per module,
   killed / (sampled - equivalent), where a timeout counts as killed and "no tests" as
   survived, the count of each kind, every survivor with its file, line and diff, and the
   sampled mutants listed as equivalent in ``docs/mutation-equivalents.toml``.

This reads mutmut's own result files (``mutants/**/*.meta``) through its modules, so it is
tied to mutmut 3.8 (``pyproject.toml`` pins it).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mutmut
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files
from mutmut.utils.format_utils import (
    mangled_name_from_mutant_name,
    orig_function_and_class_names_from_key,
)

MUTANTS = Path("mutants")
EQUIVALENTS = Path("docs/mutation-equivalents.toml")
# What the issue counts as killed: the tests failed, crashed or ran out of time.
KILLED = frozenset({"killed", "timeout", "segfault", "caught by type check"})
# The kinds shown as columns, in this order; any other kind mutmut reports is added after.
KINDS = ("killed", "timeout", "survived", "no tests", "suspicious", "skipped", "not checked")
HUNK = re.compile(r"^@@ -(\d+)")
RATE = re.compile(r"([0-9.]+) mutations/second")


@dataclass
class Mutant:
    """One mutant of the sample: where it is, what it changes and what the tests did."""

    name: str
    path: str
    status: str = "not checked"
    duration: float | None = None
    ident: str = ""
    line: int | None = None
    diff: str = ""
    equivalent: str | None = None

    @property
    def killed(self) -> bool:
        """Whether the tests noticed the mutant (a timeout counts)."""
        return self.status in KILLED

    @property
    def excluded(self) -> bool:
        """Whether the mutant leaves the denominator: listed as equivalent and not killed."""
        return self.equivalent is not None and not self.killed


@dataclass
class Population:
    """Every mutant mutmut generated, by source file, in a stable order."""

    by_path: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """The number of mutants over all files."""
        return sum(len(names) for names in self.by_path.values())


def say(text: str) -> None:
    """Tell the person running the script what happens (the project's lint forbids print)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def mutant_order(name: str) -> tuple[str, int]:
    """Sort key: the function, then mutmut's number for the mutant within it."""
    function, _, number = name.rpartition("__mutmut_")
    return function, int(number) if number.isdigit() else -1


def generate(max_children: int, log: io.StringIO) -> None:
    """Write every mutant into ``mutants/``, as the first step of ``mutmut run`` does."""
    # Imported here: importing mutmut's command line sets multiprocessing's start method.
    from mutmut.__main__ import create_mutants, store_lines_covered_by_tests  # noqa: PLC0415
    from mutmut.utils.file_utils import (  # noqa: PLC0415
        copy_also_copy_files,
        copy_src_dir,
        setup_source_paths,
    )

    MUTANTS.mkdir(exist_ok=True)
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        copy_src_dir()
        copy_also_copy_files()
        setup_source_paths()
        store_lines_covered_by_tests()
        create_mutants(max_children)


def load_population() -> Population:
    """Every generated mutant, read from mutmut's ``.meta`` files."""
    population = Population()
    for path in sorted(walk_mutatable_files()):
        data = SourceFileMutationData(path=path)
        data.load()
        if data.exit_code_by_key:
            population.by_path[str(path)] = sorted(data.exit_code_by_key, key=mutant_order)
    return population


def quotas(counts: Mapping[str, int], size: int, minimum: int) -> dict[str, int]:
    """How many mutants each module gives: proportional (largest remainder), at least ``minimum``.

    The floor can push the total a little over ``size``; a module never gives more than it has.
    """
    total = sum(counts.values())
    if size >= total:
        return dict(counts)
    exact = {module: size * count / total for module, count in counts.items()}
    shares = {module: int(value) for module, value in exact.items()}
    by_remainder = sorted(counts, key=lambda module: (shares[module] - exact[module], module))
    for module in by_remainder[: size - sum(shares.values())]:
        shares[module] += 1
    return {module: min(counts[module], max(shares[module], minimum)) for module in counts}


def draw(population: Population, size: int, seed: int, minimum: int) -> dict[str, list[str]]:
    """The stratified sample: each module's share drawn with its own seeded generator.

    A module's draw depends only on the seed, its share and its own mutants, so changing
    one file does not reshuffle the sample of the others.
    """
    counts = {path: len(names) for path, names in population.by_path.items()}
    sample: dict[str, list[str]] = {}
    for path, share in quotas(counts, size, minimum).items():
        names = population.by_path[path]
        picked = random.Random(f"{seed}:{path}").sample(names, share)  # noqa: S311 (a sample)
        sample[path] = sorted(picked, key=mutant_order)
    return sample


def mutmut_command() -> str:
    """The mutmut next to this interpreter (the project's virtualenv), else the one on PATH."""
    beside = Path(sys.executable).parent / "mutmut"
    if beside.exists():
        return str(beside)
    found = shutil.which("mutmut")
    if found is None:
        raise SystemExit("mutmut is not installed: pip install -e '.[dev]'")
    return found


def run_mutmut(names: Sequence[str], max_children: int, niceness: int, log_path: Path) -> str:
    """``mutmut run`` over the named mutants, its output copied to ``log_path``; returns it."""
    command = [mutmut_command(), "run", "--max-children", str(max_children), *names]
    env = dict(os.environ)
    env.setdefault("HYPOTHESIS_PROFILE", "dev")

    def lower_priority() -> None:
        os.nice(niceness)

    with log_path.open("w", encoding="utf-8") as log:
        done = subprocess.run(  # noqa: S603 (our own mutmut and mutant names)
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
            preexec_fn=lower_priority if niceness else None,
        )
    output = log_path.read_text(encoding="utf-8", errors="replace")
    if done.returncode != 0:
        tail = "\n".join(output.replace("\r", "\n").splitlines()[-30:])
        raise SystemExit(f"mutmut run failed ({done.returncode}); end of {log_path}:\n{tail}")
    return output


def verdicts(paths: Iterable[str]) -> dict[str, tuple[str, float | None]]:
    """Each mutant's kind ("killed", "survived", ...) and test time, from mutmut's files."""
    found: dict[str, tuple[str, float | None]] = {}
    for path in paths:
        data = SourceFileMutationData(path=path)
        data.load()
        for name, code in data.exit_code_by_key.items():
            found[name] = (status_by_exit_code[code], data.durations_by_key.get(name))
    return found


def changed_lines(diff: str) -> list[str]:
    """The removed and added lines of a diff, without surrounding space."""
    return [
        line[0] + line[1:].strip()
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def identifiers(population: Population) -> dict[str, tuple[str, str]]:
    """A stable identifier and the diff of every mutant.

    mutmut numbers mutants within a function, so its names shift when the function changes.
    The identifier is the function plus a hash of the lines the mutation removes and adds
    (``ocop.domain.money.xǁMoneyǁ__add__:1f0c93ab``), with ``#2``, ``#3``... when one function
    has several mutants making the same change (in mutmut's order).
    """
    found: dict[str, tuple[str, str]] = {}
    for path, names in population.by_path.items():
        seen: Counter[str] = Counter()
        for name in names:
            diff = get_diff_for_mutant(name, path=path)
            digest = hashlib.sha256("\n".join(changed_lines(diff)).encode()).hexdigest()[:8]
            ident = f"{mangled_name_from_mutant_name(name)}:{digest}"
            seen[ident] += 1
            if seen[ident] > 1:
                ident = f"{ident}#{seen[ident]}"
            found[name] = (ident, diff)
    return found


def function_spans(path: str) -> dict[tuple[str | None, str], tuple[int, int]]:
    """First and last line of each top-level function and method of a file.

    The first line is where the text mutmut diffs starts: the comments right above the
    function, else its first decorator, else its ``def``.
    """
    source = Path(path).read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(source))
    spans: dict[tuple[str | None, str], tuple[int, int]] = {}

    def span(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int]:
        first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
        above = first - 1
        while above >= 1 and source[above - 1].strip()[:1] in ("#", ""):
            above -= 1
        while above + 1 < first and not source[above].strip():
            above += 1  # blank lines above the comments are not part of the text
        return above + 1, node.end_lineno or first

    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            spans[None, node.name] = span(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    spans[node.name, item.name] = span(item)
    return spans


def source_line(
    mutant: Mutant, spans: Mapping[tuple[str | None, str], tuple[int, int]], source: Sequence[str]
) -> int | None:
    """The line of the source file the mutation changes, from its diff and its function.

    The diff numbers lines from the start of the function's text; the line found is checked
    against the source and, if it differs, the nearest line of the function with the removed
    text is taken.
    """
    function, class_name = orig_function_and_class_names_from_key(mutant.name)
    if (class_name, function) not in spans:
        return None
    first, last = spans[class_name, function]
    old, removed = 0, None
    for line in mutant.diff.splitlines():
        hunk = HUNK.match(line)
        if hunk:
            old = int(hunk.group(1))
        elif line.startswith("-") and not line.startswith("---"):
            removed = line[1:].strip()
            break
        elif line.startswith(" "):
            old += 1
    if removed is None:
        return None
    guess = first + old - 1
    if 0 < guess <= len(source) and source[guess - 1].strip() == removed:
        return guess
    matches = [n for n in range(first, last + 1) if source[n - 1].strip() == removed]
    return min(matches, key=lambda n: abs(n - guess)) if matches else guess


def load_equivalents(path: Path) -> dict[str, str]:
    """The mutants shown equivalent, by identifier, each with its one-line reason."""
    if not path.exists():
        return {}
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("equivalent", [])
    found: dict[str, str] = {}
    for entry in entries:
        ident, reason = entry.get("id"), entry.get("reason")
        if not isinstance(ident, str) or not isinstance(reason, str) or not reason.strip():
            raise SystemExit(f"{path}: every [[equivalent]] needs an id and a reason: {entry}")
        found[ident] = reason.strip()
    return found


def score(mutants: Sequence[Mutant]) -> dict[str, Any]:
    """Counts of each kind and the score, killed / (total - equivalent), of some mutants."""
    kinds = Counter(mutant.status for mutant in mutants)
    equivalent = sum(1 for mutant in mutants if mutant.excluded)
    killed = sum(1 for mutant in mutants if mutant.killed)
    counted = len(mutants) - equivalent
    return {
        "sampled": len(mutants),
        "kinds": {kind: kinds[kind] for kind in sorted(kinds, key=kind_order)},
        "killed_or_timeout": killed,
        "equivalent": equivalent,
        "counted": counted,
        "score": round(killed / counted, 4) if counted else None,
    }


def kind_order(kind: str) -> tuple[int, str]:
    """Known kinds in the report's order, others after."""
    return (KINDS.index(kind), kind) if kind in KINDS else (len(KINDS), kind)


def percent(value: float | None) -> str:
    """A score as a percentage, or a dash when nothing counts."""
    return "-" if value is None else f"{100 * value:.1f}%"


def markdown(report: Mapping[str, Any], mutants: Sequence[Mutant]) -> str:
    """The human report: scores, kinds, survivors with their diffs, equivalents."""
    meta, totals = report["meta"], report["totals"]
    kinds = sorted(
        {kind for row in [*report["modules"].values(), totals] for kind in row["kinds"]}
        | set(KINDS[:6]),
        key=kind_order,
    )
    out = [
        "# Mutation report",
        "",
        f"mutmut {meta['mutmut']}, seed {meta['seed']}, sample {totals['sampled']} of "
        f"{meta['population']} mutants (requested {meta['requested']}, at least "
        f"{meta['min_per_module']} per module), HYPOTHESIS_PROFILE={meta['hypothesis_profile']}, "
        f"{meta['max_children']} workers, started {meta['started']}.",
        "",
        f"**Score {percent(totals['score'])}**: {totals['killed_or_timeout']} killed (timeouts "
        f"included) of {totals['counted']} ({totals['sampled']} sampled, "
        f"{totals['equivalent']} equivalent). Timeouts count as killed; no tests, suspicious, "
        "skipped and not checked count as survived.",
        "",
    ]
    if totals["kinds"].get("not checked"):
        out += [
            f"**Incomplete**: {totals['kinds']['not checked']} sampled mutants were not checked "
            "(interrupted run?): `--resume` finishes them.",
            "",
        ]
    timing = meta.get("timing", {})
    if timing:
        rate = float(timing.get("mutmut_rate") or 0)
        phase = f"{rate} mutants/s, {1 / rate:.1f} s each" if rate else "?"
        out += [
            f"Time: {timing['run_seconds']:.0f} s for `mutmut run` over {timing['mutants_run']} "
            f"mutants, {timing['seconds_per_mutant']:.2f} s per mutant (wall, including the "
            f"one-off run of the suite that maps tests to functions); the mutants alone: {phase}.",
            "",
        ]
    out += [
        "## Score per module",
        "",
        "| module | sampled / all | " + " | ".join(kinds) + " | equivalent | score |",
        "|---|---|" + "---|" * len(kinds) + "---|---|",
    ]
    rows = [*report["modules"].items(), ("**total**", totals)]
    for module, row in rows:
        population = row.get("population", meta["population"])
        out.append(
            f"| {module} | {row['sampled']} / {population} | "
            + " | ".join(str(row["kinds"].get(kind, 0)) for kind in kinds)
            + f" | {row['equivalent']} | {percent(row['score'])} |"
        )
    survivors = [m for m in mutants if not m.killed and not m.excluded]
    out += ["", f"## Survivors ({len(survivors)})", ""]
    if not survivors:
        out.append("None.")
    for mutant in survivors:
        out += [
            f"### {mutant.path}:{mutant.line or '?'} ({mutant.status})",
            "",
            f"`{mutant.name}`, id `{mutant.ident}`",
            "",
            "```diff",
            mutant.diff,
            "```",
            "",
        ]
    equivalents = [m for m in mutants if m.equivalent is not None]
    out += ["", f"## Equivalent mutants in the sample ({len(equivalents)})", ""]
    out.append(
        f"Listed in `{EQUIVALENTS}` with a reason; excluded from the denominator unless killed."
    )
    out.append("")
    for mutant in equivalents:
        note = " **(killed: the entry is wrong)**" if mutant.killed else ""
        out += [
            f"- `{mutant.ident}` ({mutant.path}:{mutant.line or '?'}){note}: {mutant.equivalent}",
        ]
    unknown = report["equivalents_unknown"]
    if unknown:
        out += [
            "",
            f"Entries of `{EQUIVALENTS}` matching no mutant any more (the code changed: "
            "check them and update the ids):",
            "",
            *(f"- `{ident}`" for ident in unknown),
        ]
    return "\n".join(out).rstrip() + "\n"


def build_report(
    args: argparse.Namespace, population: Population, sample: Mapping[str, Sequence[str]]
) -> tuple[list[Mutant], dict[str, Any]]:
    """The sampled mutants with their verdicts, lines, diffs and equivalence; the report's data."""
    found = verdicts(sample)
    described = identifiers(population)
    equivalents = load_equivalents(args.equivalents)
    mutants: list[Mutant] = []
    for path in sorted(sample):
        spans = function_spans(path)
        source = Path(path).read_text(encoding="utf-8").splitlines()
        for name in sample[path]:
            status, duration = found.get(name, ("not checked", None))
            ident, diff = described[name]
            mutant = Mutant(name, path, status, duration, ident, diff=diff)
            mutant.line = source_line(mutant, spans, source)
            mutant.equivalent = equivalents.get(ident)
            mutants.append(mutant)
    mutants.sort(key=lambda m: (m.path, m.line or 0, mutant_order(m.name)))

    by_module: dict[str, list[Mutant]] = defaultdict(list)
    for mutant in mutants:
        by_module[mutant.path].append(mutant)
    known = {ident for ident, _ in described.values()}
    report: dict[str, Any] = {
        "meta": {
            "mutmut": mutmut.__version__,
            "seed": args.seed,
            "requested": args.sample,
            "min_per_module": args.min_per_module,
            "population": population.total,
            "max_children": args.max_children,
            "hypothesis_profile": os.environ.get("HYPOTHESIS_PROFILE", "dev"),
        },
        "totals": score(mutants),
        "modules": {
            path: {**score(by_module[path]), "population": len(population.by_path[path])}
            for path in sorted(by_module)
        },
        "equivalents_unknown": sorted(set(equivalents) - known),
        "mutants": [
            {
                "name": m.name,
                "id": m.ident,
                "file": m.path,
                "line": m.line,
                "status": m.status,
                "killed": m.killed,
                "equivalent": m.equivalent,
                "seconds": m.duration,
                "diff": None if m.killed else m.diff,
            }
            for m in mutants
        ],
    }
    return mutants, report


def previous_timing(path: Path) -> dict[str, Any]:
    """The timing of the last run's report, kept when only the report is rewritten."""
    try:
        timing = json.loads(path.read_text(encoding="utf-8"))["meta"]["timing"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return timing if isinstance(timing, dict) else {}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sample", type=int, default=1000, help="mutants to test (0: all)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the sample")
    parser.add_argument(
        "--min-per-module", type=int, default=3, help="mutants each module gives at least"
    )
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--nice", type=int, default=10, help="lower the tests' CPU priority")
    parser.add_argument("--out", type=Path, default=Path("build/mutation"), help="report folder")
    parser.add_argument("--equivalents", type=Path, default=EQUIVALENTS)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--resume",
        action="store_true",
        help="keep mutants/ and test only the sampled mutants without a result",
    )
    mode.add_argument(
        "--report-only", action="store_true", help="keep mutants/ and only write the report"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, sample, run, report."""
    args = parse(argv)
    if not Path("pyproject.toml").exists() or not Path("src/ocop").is_dir():
        raise SystemExit("run from the repository root")
    args.out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat(timespec="seconds")

    if not (args.resume or args.report_only):
        shutil.rmtree(MUTANTS, ignore_errors=True)
    if not (args.report_only and MUTANTS.exists()):
        log = io.StringIO()
        generate(args.max_children, log)
        (args.out / "generate.log").write_text(log.getvalue(), encoding="utf-8")
    population = load_population()
    if not population.total:
        raise SystemExit("mutmut generated no mutants: check [tool.mutmut] in pyproject.toml")
    size = args.sample if args.sample > 0 else population.total
    sample = draw(population, size, args.seed, args.min_per_module)
    names = [name for path in sorted(sample) for name in sample[path]]
    say(f"{len(names)} of {population.total} mutants sampled (seed {args.seed})")
    (args.out / "sample.txt").write_text("\n".join(names) + "\n", encoding="utf-8")

    timing: dict[str, Any] = previous_timing(args.out / "report.json")
    if not args.report_only:
        before = verdicts(sample)
        todo = [n for n in names if not args.resume or before[n][0] == "not checked"]
        if todo:
            say(f"mutmut run over {len(todo)} mutants; output in {args.out / 'mutmut.log'}")
            began = time.monotonic()
            output = run_mutmut(todo, args.max_children, args.nice, args.out / "mutmut.log")
            seconds = time.monotonic() - began
            rates = RATE.findall(output)
            timing = {
                "run_seconds": round(seconds, 1),
                "mutants_run": len(todo),
                "seconds_per_mutant": round(seconds / len(todo), 2),
                "mutmut_rate": rates[-1] if rates else None,
            }

    mutants, report = build_report(args, population, sample)
    report["meta"].update(started=started, timing=timing)
    (args.out / "report.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (args.out / "report.md").write_text(markdown(report, mutants), encoding="utf-8")
    totals = report["totals"]
    say(
        f"score {percent(totals['score'])} ({totals['killed_or_timeout']} of {totals['counted']}); "
        f"report in {args.out / 'report.md'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Mutation testing of the file-trust promises (issue 19), on demand: `nice -n 10 python -m bench.mutation`.

Two parts. First the four one-line mutations the audit found surviving (is_relative_to -> startswith, the racy
window removed, SQLite retries disabled, format_checker dropped) are applied one at a time to a copy of the tree and
must each make a targeted test fail. Then mutmut mutates every function of the modules that hold the promises
(MODULES) and runs the fast unit tests that target them (TESTS) against each mutant. The report goes to
bench/results/mutation.json and .md; a survivor is either killed by a new test or explained in EXPLAINED.
Needs `pip install mutmut==3.8.1` (not a test dependency; 3.3 breaks on pytest 9 and installs a `tests` package).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results"
SETTINGS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
MODULES: list[str] = SETTINGS["only_mutate"]
TESTS: list[str] = SETTINGS["pytest_add_cli_args_test_selection"]
# (what, file, text, replacement, tests that must fail)
NAMED = [
    (
        "sandbox root check: is_relative_to -> str.startswith",
        "mcp_open/features/files/descriptors.py",
        "if Path(path).is_relative_to(root)",
        "if str(path).startswith(str(root))",
        ["tests/test_files_trust.py::test_a_sibling_folder_sharing_the_root_name_is_outside"],
    ),
    (
        "freshness: racy-mtime window check removed",
        "mcp_open/features/search/scope.py",
        "return same and record.checked_ns - max(record.mtime_ns, record.ctime_ns) > RACY_NS",
        "return same",
        ["tests/test_files_trust.py::test_freshness_trusts_only_an_unchanged_settled_signature"],
    ),
    (
        "SQLite: retry disabled",
        "mcp_open/store/db.py",
        "retry=retry_if_exception(is_busy),",
        "retry=retry_if_exception(lambda _exc: False),",
        ["tests/test_named_mutants.py::test_a_file_another_connection_holds_for_a_moment_is_waited_for"],
    ),
    (
        "structured validation: format_checker dropped",
        "mcp_open/features/generate/structured.py",
        "return cls(schema, format_checker=cls.FORMAT_CHECKER)",
        "return cls(schema)",
        ["tests/test_named_mutants.py::test_structured_answers_are_validated_against_the_schemas_formats"],
    ),
]
# Survivors looked at and kept: (mutant name pattern, pattern of the mutated line, why no test can or should tell it
# apart). Each was read in the report of a run; a new survivor matches none until someone reads it.
ZIP_STRICT = (
    "zip over lists of equal length by construction (one entry per planned output): strict= only turns a bug "
    "elsewhere into an error, no input can tell"
)
EXPLAINED: list[tuple[str, str, str]] = [
    (r"write_outputs|output_names|targets", r"zip\(.*(strict=(None|False)|, \))", ZIP_STRICT),
    (r".", r"follow_symlinks=None", "None is falsy: the very call with follow_symlinks=False"),
    (r"stage|keep_original", r"token_hex\((None|5)\)", "only the random part of a temp file's name changes"),
    (r"stage", r'encode\("UTF-8"\)', "codec names are case-insensitive: the same encoding"),
    (r"read_all", r"1 << 21|2 << 20", "the size of each read() only: the bytes returned are the same"),
    (r"plan_outputs", r'"XX/XX", os\.sep', "os.sep is '/' on POSIX: the tuple still holds '/'"),
    (r"framed", r"html\.escape\(source\.shown, \)", "quote=True is html.escape's default"),
    (
        r"passages",
        r"overlap=1",
        "rank's cutting, the search chunker's (marked no mutate; mutmut 3.8 still mutates "
        "the continuation line of the call)",
    ),
    (
        r"output_location",
        r"range\(len\(parts\), -2, -1\)",
        "depth -1 is never reached: a refusal at depth 0 (the root itself) is raised before the loop goes on",
    ),
    (
        r"check_writable",
        r"root = None",
        "the climb stops at the first folder that exists; the root exists, so "
        "stopping at it or not ends in the same folder",
    ),
    (
        r"check_writable",
        r"follow=(None|True)|opened\(folder, \)",
        "the nearest existing folder is a real path "
        "(links were resolved when the target was planned): following links there opens the same folder",
    ),
    (
        r"check_writable",
        r"refusal\(|FileAccessError\(None\) from None",
        "reached only when the nearest folder is "
        "swapped for a link between planning and this check; the write itself refuses that (tested)",
    ),
    (
        r"check_target",
        r"follow_symlinks=True|os\.stat\(path, \)",
        "the target was planned with its links resolved; "
        "a link that appears later is replaced by the rename, never followed (tested in test_replacing_a_link...)",
    ),
    (
        r"check_target",
        r"FileAccessError\(None\)",
        "permission denied on lstat: unreachable as root, who runs the tests here and in CI",
    ),
    (
        r"listing\.x__below",
        r"verify\(None",
        "the /proc check of a sub-folder's descriptor: only a folder moved out "
        "of the tree between two system calls of the walk tells; the descriptor walk already refuses links",
    ),
    (
        r"descriptors\.x__descend",
        r"range\(4\)|suppress\(None\)|Refused\((None|\"XXchangedXX\"|\"CHANGED\")\)",
        "the retries of a lost mkdir race (another process made the folder in between): no test can lose that race "
        "on purpose",
    ),
    (r"still_current", r"follow_symlinks=None", "None is falsy: the very call with follow_symlinks=False"),
    (
        r"listing\.x_matches",
        r"follow_symlinks=True",
        "a link taken for a folder is still not entered: _below opens "
        "it with O_NOFOLLOW and skips it; a linked file goes through the descriptor walk either way",
    ),
    (r"listing\.x_matches", r'visible\(entry\.name, "XXXX"', "a pattern part that does not start with a dot, like ''"),
    (r"listing\.x_matches", r"^\+\s+break$", "only an entry that vanishes between scandir and stat raises there"),
    (
        r"listing\.x_matches",
        r"secrets=secrets, \)$",
        "the depth bound is checked where folders are entered "
        "(_below passes depth + 1); a pattern's rest at the same level adds no depth",
    ),
    (
        r"listing\.x_matches",
        r"elif rest or is_dir",
        "a file with parts left fails its O_DIRECTORY open in _below; a "
        "folder with no parts left yields nothing: the same entries",
    ),
    (r"Refusedǁ__init__", r"super\(\)\.__init__\(None\)", "the exception's text is never shown; `why` is"),
    (
        r"Treeǁ__init__",
        r"sorted\(self\.roots(, key=None)?, reverse=True\)",
        "for nested roots a parent path sorts "
        "before its children, so reverse order by name also puts the innermost root first",
    ),
    (
        r"x_verify|Treeǁ_walk",
        r"verify\(None|str\(None\)|Refused\(\"(CHANGED|XXchangedXX)\"\)|Refused\(None\)",
        "the /proc check of a descriptor: only a folder moved out of the tree between two system calls tells; the "
        "O_NOFOLLOW walk already refuses links",
    ),
    (
        r"Sandboxǁ_usable",
        r"binary = None|_SNIFFED\.get\(None\)|_remember\(None",
        "the sniff cache only: a miss sniffs again and finds the same",
    ),
    (r"x_decode", r'"UTF-8-SIG"', "codec names are case-insensitive"),
    (
        r"x_decode",
        r"min\(matches(, key=None)?, \)|min\(matches, key=None\)|chaos < best\.chaos",
        "charset detection's tie-break among equally good encodings; the chosen text is the same for every test text",
    ),
    (
        r"x__why",
        r"errno not in \(errno\.ELOOP|XXloopXX|LOOP",
        "reached only when a link met by the walk stops being "
        "a link before readlink (a race); the message is then 'goes through too many links' or 'cannot be read'",
    ),
    (
        r"descriptors\.x__descend|x__why",
        r"os\.mkdir\(name, (512, )?dir_fd|\) or True else _why|_why\(None\)|\"UNREADABLE\"",
        "permissions: a folder's mode and EACCES do not bind root, who runs the tests here and in CI; as another "
        "user the mode is the usual 0o777 & ~umask and a refusal says 'cannot be read'",
    ),
    (
        r"Treeǁ_walk",
        r"FILE_FLAGS if \(last\) or True",
        "a folder opened without O_DIRECTORY (still O_NOFOLLOW) is the same descriptor; a file in the middle of a "
        "path fails the next openat with ENOTDIR: 'does not exist'",
    ),
    (r"x__remember", r"len\(_SNIFFED\) > _SNIFF_CACHE", "the sniff cache's size bound, off by one entry"),
    (
        r"x_html_text",
        r'XML_DECLARATION\.sub\("", markup, (count=2)?\)',
        "an XML declaration can only stand first; a second one is no declaration for lxml to refuse",
    ),
]


def main(argv: list[str] | None = None) -> int:
    """Run the named mutations, then mutmut, and write the report."""
    parser = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__)
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--skip-named", action="store_true", help="skip the four named mutations")
    parser.add_argument("--skip-mutmut", action="store_true", help="only report what the last mutmut run left")
    args = parser.parse_args(argv)
    os.environ.setdefault("MCP_OPEN_RACE_ROUNDS", "200")  # the races still run, shorter, once per mutant
    started = time.monotonic()
    named = [] if args.skip_named else run_named()
    if not args.skip_mutmut:
        run_mutmut(args.max_children)
    report = summarise(named, time.monotonic() - started)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "mutation.json").write_text(json.dumps(report, indent=2) + "\n")
    (OUT / "mutation.md").write_text(markdown(report))
    print(markdown(report))
    return 0 if report["ok"] else 1


def run_named() -> list[dict[str, Any]]:
    """Each named mutation on a copy of the tree: killed when its tests fail."""
    results: list[dict[str, Any]] = []
    for what, file, text, replacement, tests in NAMED:
        with tempfile.TemporaryDirectory(prefix="mcp-open-mutant-") as scratch:
            copy = Path(scratch)
            for part in ("mcp_open", "tests", "pyproject.toml"):
                source = ROOT / part
                if source.is_dir():
                    shutil.copytree(source, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(source, copy / part)
            target = copy / file
            code = target.read_text()
            if text not in code:
                results.append({"mutation": what, "file": file, "status": "not applicable: the line moved"})
                continue
            target.write_text(code.replace(text, replacement, 1))
            env = {**os.environ, "PYTHONPATH": str(copy)}
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                cwd=copy,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            status = "killed" if done.returncode == 1 else "survived" if done.returncode == 0 else "error"
            results.append({"mutation": what, "file": file, "status": status, "tests": tests})
            print(f"[mutation] {what}: {status}", file=sys.stderr, flush=True)
    return results


def run_mutmut(max_children: int) -> None:
    """mutmut over the modules [tool.mutmut] names in pyproject.toml, from scratch."""
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)]
    subprocess.run(command, cwd=ROOT, check=False)


def summarise(named: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Counts per module from mutmut's .meta files, the survivors with their diffs, and the named results."""
    earlier = OUT / "mutation.json"
    known = {s["mutant"]: s["diff"] for s in json.loads(earlier.read_text())["survivors"]} if earlier.exists() else {}
    statuses = {1: "killed", 3: "killed", -24: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}
    statuses |= {35: "suspicious", 36: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", -11: "segfault"}
    modules: dict[str, dict[str, int]] = {}
    survivors: list[dict[str, str]] = []
    for module in MODULES:
        meta = ROOT / "mutants" / f"{module}.meta"
        if not meta.exists():
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts = Counter(statuses.get(code, "not checked") for code in codes.values())
        modules[module] = dict(counts)
        for name, code in codes.items():
            if statuses.get(code) in ("survived", "no tests", "not checked", "suspicious", "timeout"):
                diff = known.get(name) or _diff(name)
                survivors.append({"mutant": name, "status": statuses.get(code, "not checked"), "diff": diff})
    total = sum(sum(c.values()) for c in modules.values())
    killed = sum(c.get("killed", 0) for c in modules.values())
    for survivor in survivors:
        survivor["explained"] = explanation(survivor["mutant"], survivor["diff"])
    explained = sum(1 for s in survivors if s["explained"])
    score = (killed + explained) / total if total else 0.0
    named_ok = all(n["status"] == "killed" for n in named)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds),
        "tests": TESTS,
        "modules": modules,
        "mutants": total,
        "killed": killed,
        "explained": explained,
        "killed_share": round(killed / total, 4) if total else None,
        "killed_or_explained_share": round(score, 4),
        "named": named,
        "survivors": survivors,
        "ok": named_ok and killed >= 0.95 * total and all(s["explained"] for s in survivors),
    }


def explanation(name: str, diff: str) -> str:
    """Why a survivor is kept, if EXPLAINED says so for its function and its mutated line."""
    added = "\n".join(line for line in diff.splitlines() if line.startswith("+"))
    for where, line, why in EXPLAINED:
        if re.search(where, name) and re.search(line, added):
            return why
    return ""


def _diff(name: str) -> str:
    """The mutant's changed lines, as `mutmut show` prints them."""
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", name], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return "\n".join(line for line in done.stdout.splitlines() if line[:1] in "-+" and line[:3] not in ("---", "+++"))


def markdown(report: dict[str, Any]) -> str:
    """The report for people."""
    rows = [
        f"| {module} | {sum(c.values())} | {c.get('killed', 0)} | {sum(c.values()) - c.get('killed', 0)} |"
        for module, c in report["modules"].items()
    ]
    named = [f"| {n['mutation']} | {n['status']} |" for n in report["named"]]
    lines = [
        "# Mutation testing of the file-trust promises",
        "",
        f"Run {report['when']} with `nice -n 10 python -m bench.mutation` ({report['seconds']} s), mutmut 3.8.1, "
        f"tests: {', '.join(report['tests'])}.",
        "",
        "| The four mutations the audit named | result |",
        "| --- | --- |",
        *named,
        "",
        f"mutmut: {report['mutants']} mutants, {report['killed']} killed "
        f"({(report['killed_share'] or 0) * 100:.1f}%), {report['explained']} survivors explained, "
        f"killed or explained: {report['killed_or_explained_share'] * 100:.1f}%. The counts are mutmut's per-mutant "
        "results in mutants/: a full run, then the survivors run again after tests were added (tests were only "
        "added, so a killed mutant stays killed).",
        "",
        "| module | mutants | killed | not killed |",
        "| --- | --- | --- | --- |",
        *rows,
        "",
        "## Survivors",
        "",
    ]
    for survivor in report["survivors"]:
        lines += [f"- `{survivor['mutant']}` ({survivor['status']}): {survivor['explained'] or 'NOT EXPLAINED'}"]
        lines += ["  ```diff", *(f"  {line}" for line in survivor["diff"].splitlines()), "  ```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

"""Command line: `mcp-open serve`, `models list|pull|info`, `info`, `usage`, `glossary`. Feeds Settings only."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

from mcp_open import __version__
from mcp_open.edge.commands import glossary as glossary_command
from mcp_open.errors import McpOpenError
from mcp_open.settings import Settings

log = logging.getLogger("mcp_open")
notice = logging.getLogger("mcp_open.notice")  # plain lines for the person at the terminal, on stderr

SHORT_FLAGS = {"verbose": ["-v"], "allow_dirs": ["--allow-dir"]}
REPEATABLE = frozenset({"allow_dirs"})  # list settings whose flag may be given several times
METAVARS = {"gpu_layers": "N|auto|all", "tensor_split": "A,B,..", "kv_cache_type": "TYPE", "allow_dirs": "DIR"}


def _add_settings_flags(parser: argparse.ArgumentParser, only: Sequence[str] | None = None) -> None:
    """One flag per Settings field, help from its description; unset flags leave env and defaults alone."""
    for name, field in Settings.model_fields.items():
        if only is not None and name not in only:
            continue
        flags = [*SHORT_FLAGS.get(name, []), "--" + name.replace("_", "-")]
        value = field.get_default(call_default_factory=True)
        default = value if value not in (None, []) else "unset"
        helptext = f"{field.description} [env MCP_OPEN_{name.upper()}; default {default}]"
        if name in REPEATABLE:
            parser.add_argument(*flags, dest=name, action="append", default=None, metavar=METAVARS[name], help=helptext)
        elif field.annotation is bool:
            parser.add_argument(*flags, dest=name, action=argparse.BooleanOptionalAction, default=None, help=helptext)
        else:
            parser.add_argument(*flags, dest=name, default=None, metavar=METAVARS.get(name, "VALUE"), help=helptext)


def _settings_from(args: argparse.Namespace) -> Settings:
    """Settings with flags over environment over defaults."""
    given = {name: getattr(args, name) for name in Settings.model_fields if getattr(args, name, None) is not None}
    return Settings(**given)


class _StderrNow(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is logged (main() may run again with another one)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _setup_logging(verbose: bool) -> None:
    """Our logs and llama.cpp's go to stderr; stdout is the MCP wire. Safe to call again once settings are read."""
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.INFO if verbose else logging.WARNING)
    # huggingface_hub prints through its own handler; passing its records on as well printed each one twice.
    logging.getLogger("huggingface_hub").propagate = False
    if not notice.handlers:
        plain = _StderrNow()
        plain.setFormatter(logging.Formatter("mcp-open: %(message)s"))
        notice.addHandler(plain)
        notice.setLevel(logging.INFO)
        notice.propagate = False


def _stdio_banner() -> None:
    """Someone ran `serve` by hand: say what it is waiting for (an MCP client, not a person)."""
    if sys.stdin.isatty():
        notice.warning(
            "serving MCP on stdio: waiting for an MCP client to speak JSON-RPC on stdin (MCP clients start this "
            "command themselves; see README). Ctrl-C stops it; `mcp-open doctor` checks your setup."
        )


def _serve(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    _setup_logging(settings.verbose)
    from mcp_open.edge.server import build_server

    server = build_server(settings)
    if settings.transport == "stdio":
        log.info("mcp-open %s serving on stdio (model %s, embed %s)", __version__, settings.model, settings.embed_model)
        _stdio_banner()
        import anyio

        from mcp_open.edge.stdio import serve_stdio

        anyio.run(serve_stdio, server)
        _exit_now(0)
    from mcp_open.edge.httpserve import serve_http

    where = f"http://{settings.host}:{settings.port}/mcp"
    notice.warning("serving MCP over streamable HTTP at %s (version %s); Ctrl-C stops it", where, __version__)
    serve_http(server, settings)
    _exit_now(0)


def _exit_now(code: int) -> NoReturn:
    """Exit once the server has closed its models and answered its calls.

    The interpreter's own teardown spends about a second more in native finalizers after a model was used
    (measured: 1.0-1.2 s on 2 cores), which would break "a stop signal exits within a second".
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _models_list(_args: argparse.Namespace) -> int:
    from mcp_open.models.hub import models_table

    rows = models_table()
    print(json.dumps(rows, indent=2) if _args.json else _format_table(rows))
    return 0


def _format_table(rows: list[dict[str, object]]) -> str:
    """A plain text table of the catalog."""
    columns = ["alias", "role", "params", "default_quant", "cached", "repo"]
    cells = [[str(row.get(c, "") if row.get(c) is not None else "") for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _models_pull(args: argparse.Namespace) -> int:
    from mcp_open.errors import ModelNotDownloadedError
    from mcp_open.models.hub import hub_cache_dir, pull
    from mcp_open.models.hub.fetching import starter_hint

    try:
        resolved = pull(args.spec, show_progress=True)
    except ModelNotDownloadedError as exc:
        if exc.why is None:
            raise
        # The general message says "run `mcp-open models pull ...`": the command the person just typed.
        serve_starter = "the starter model needs no download: `mcp-open serve --model starter --embed-model starter`"
        raise ModelNotDownloadedError(
            f"the model {args.spec} is not downloaded: {exc.what} is not in the Hugging Face cache at "
            f"{hub_cache_dir()}, and {exc.why}. Run this command again once the Hub can be reached; "
            + starter_hint(serve_starter)
        ) from None
    if resolved.note:
        print(resolved.note, file=sys.stderr)
    print(resolved.path)
    return 0


def _models_info(args: argparse.Namespace) -> int:
    from mcp_open.models.ggufinfo import read_info
    from mcp_open.models.hub import resolve

    resolved = resolve(args.spec, download=False)
    info = read_info(resolved.path)
    data = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(info).items()}
    data.pop("chat_template", None)
    data["spec"], data["source"] = args.spec, resolved.source
    print(json.dumps(data, indent=2))
    return 0


def _info(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    _setup_logging(settings.verbose)
    from mcp_open.edge.wiring import compose

    about = compose(settings).about
    info = about.info(probe_backends=True)
    print(json.dumps(info, indent=2))
    for line in about.startup_warnings():
        notice.warning(line)
    return 0


def _index(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    _setup_logging(settings.verbose)
    from mcp_open.edge.commands import index as index_command

    if args.status:
        return index_command.show_status(settings)
    if not args.paths:
        print("mcp-open index: name at least one folder, file or glob (or pass --status)", file=sys.stderr)
        return 2
    return index_command.run(settings, args.paths)


def _usage(args: argparse.Namespace) -> int:
    from mcp_open.edge.commands.usage import usage_text

    print(usage_text(_settings_from(args), since=args.since, by=args.by, as_json=args.json))
    return 0


def _add_usage(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    usage = commands.add_parser("usage", help="What delegating cost the agent and saved it, from the usage ledger.")
    usage.add_argument("--since", metavar="WHEN", help="Only calls since then: 30m, 12h, 7d, 2w or a date.")
    usage.add_argument("--by", choices=["tool", "model", "day"], help="One row per tool, model or UTC day.")
    usage.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    _add_settings_flags(usage, only=("data_dir", "price_input", "price_output"))
    usage.set_defaults(run=_usage)


def _doctor(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    _setup_logging(settings.verbose)
    from mcp_open.edge.commands.doctor import run_checks

    checks = run_checks(settings)
    for check in checks:
        print(f"{'ok' if check.ok else 'PROBLEM':8} {check.topic}: {check.text}")
        if check.fix:
            print(f"{'':8} fix: {check.fix}")
    problems = sum(not check.ok for check in checks)
    print(f"\n{problems} problem(s) found" if problems else "\neverything mcp-open needs is in place")
    return 1 if problems else 0


def _needs_command(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """A handler for a command group called without its subcommand: show what it offers."""

    def run(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return run


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = argparse.ArgumentParser(prog="mcp-open", description="Local GGUF Qwen models as MCP tools.")
    parser.add_argument("--version", action="version", version=f"mcp-open {__version__}")
    parser.set_defaults(run=_needs_command(parser))
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    serve = commands.add_parser("serve", help="Run the MCP server (stdio by default).")
    _add_settings_flags(serve)
    serve.set_defaults(run=_serve)
    info = commands.add_parser("info", help="Print version, llama.cpp build features and configured models.")
    _add_settings_flags(info)
    info.set_defaults(run=_info)
    index = commands.add_parser("index", help="Build the search index of folders ahead of time, or show it.")
    index.add_argument("paths", nargs="*", metavar="PATH", help="Folders, files or globs to index.")
    index.add_argument("--status", action="store_true", help="Show what is indexed, per embedding model.")
    _add_settings_flags(index)
    index.set_defaults(run=_index)
    _add_usage(commands)
    glossary_command.register(commands, _add_settings_flags, _settings_from)
    doctor = commands.add_parser("doctor", help="Check Python, llama.cpp build, GPU, cache and configured models.")
    _add_settings_flags(doctor)
    doctor.set_defaults(run=_doctor)
    models_parser = commands.add_parser("models", help="List, download and inspect models.")
    models_parser.set_defaults(run=_needs_command(models_parser))
    models = models_parser.add_subparsers(title="commands", metavar="COMMAND", dest="models_command")
    listing = models.add_parser("list", help="The Qwen catalog, with what is already downloaded.")
    listing.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    listing.set_defaults(run=_models_list)
    for name, run, helptext in (
        ("pull", _models_pull, "Download a model (alias[:QUANT] or owner/repo[:QUANT]) into the HF cache."),
        ("info", _models_info, "Read a GGUF header: architecture, size, quantisation, context, template."),
    ):
        sub = models.add_parser(name, help=helptext)
        sub.add_argument("spec", help="A .gguf path, catalog alias[:QUANT] or owner/repo[:QUANT].")
        sub.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the mcp-open console script."""
    args = build_parser().parse_args(argv)
    _setup_logging(bool(getattr(args, "verbose", False)))
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        code = run(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except ValidationError as exc:
        print(f"mcp-open: invalid configuration:\n{_validation_text(exc)}", file=sys.stderr)
    except McpOpenError as exc:
        print(f"mcp-open: {exc}", file=sys.stderr)
    except BaseExceptionGroup as group:  # a command's task group wraps our error; show it, not a traceback
        error = _our_error(group)
        if error is None:
            raise
        print(f"mcp-open: {error}", file=sys.stderr)
    except BrokenPipeError:  # `mcp-open usage | head`: the reader has gone, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush must not fail again
        return 141  # as a shell tool killed by SIGPIPE
    except KeyboardInterrupt:
        return 130
    return 2


def _our_error(group: BaseExceptionGroup[BaseException]) -> McpOpenError | None:
    """The first of our errors in a group made only of them, or None."""
    ours, others = group.split(McpOpenError)
    if ours is None or others is not None:
        return None
    first: BaseException = ours
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first if isinstance(first, McpOpenError) else None


def _validation_text(exc: ValidationError) -> str:
    """One line per bad setting, naming the flag."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        flag = f"--{where.replace('_', '-')}: " if where else ""
        lines.append(f"  {flag}{error['msg']}")
    return "\n".join(lines)

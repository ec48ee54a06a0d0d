"""Command line: `mcp-open serve`, `mcp-open models list|pull|info`, `mcp-open info`. Feeds Settings, nothing else."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from mcp_open import __version__
from mcp_open.errors import McpOpenError
from mcp_open.settings import Settings

log = logging.getLogger("mcp_open")

SHORT_FLAGS = {"verbose": ["-v"], "allow_dirs": ["--allow-dir"]}
REPEATABLE = frozenset({"allow_dirs"})  # list settings whose flag may be given several times
METAVARS = {"gpu_layers": "N|auto|all", "tensor_split": "A,B,..", "kv_cache_type": "TYPE", "allow_dirs": "DIR"}


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per Settings field, help from its description; unset flags leave env and defaults alone."""
    for name, field in Settings.model_fields.items():
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


def _setup_logging(verbose: bool) -> None:
    """Our logs and llama.cpp's go to stderr; stdout is the MCP wire."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _serve(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    _setup_logging(settings.verbose)
    from mcp_open.edge.server import build_server

    server = build_server(settings)
    if settings.transport == "stdio":
        log.info("mcp-open %s serving on stdio (model %s, embed %s)", __version__, settings.model, settings.embed_model)
        server.run("stdio")
        return 0
    from mcp_open.edge.httpauth import transport_security

    log.warning("mcp-open %s serving streamable HTTP at http://%s:%s/mcp", __version__, settings.host, settings.port)
    server.run(
        "streamable-http", host=settings.host, port=settings.port, transport_security=transport_security(settings)
    )
    return 0


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
    from mcp_open.models.hub import pull

    resolved = pull(args.spec, show_progress=True)
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
    from mcp_open.tasks.service import Service

    print(json.dumps(Service(settings).info(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = argparse.ArgumentParser(prog="mcp-open", description="Local GGUF Qwen models as MCP tools.")
    parser.add_argument("--version", action="version", version=f"mcp-open {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="Run the MCP server (stdio by default).")
    _add_settings_flags(serve)
    serve.set_defaults(run=_serve)
    info = commands.add_parser("info", help="Print version, llama.cpp build features and configured models.")
    _add_settings_flags(info)
    info.set_defaults(run=_info)
    models = commands.add_parser("models", help="List, download and inspect models.").add_subparsers(
        dest="models_command", required=True
    )
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
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except ValidationError as exc:
        print(f"mcp-open: invalid configuration:\n{_validation_text(exc)}", file=sys.stderr)
    except McpOpenError as exc:
        print(f"mcp-open: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 2


def _validation_text(exc: ValidationError) -> str:
    """One line per bad setting, naming the flag."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        flag = f"--{where.replace('_', '-')}: " if where else ""
        lines.append(f"  {flag}{error['msg']}")
    return "\n".join(lines)

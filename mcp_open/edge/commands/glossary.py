"""`mcp-open glossary create|list|remove`: glossaries stored by name in the data directory, used by translate."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from mcp_open.errors import ConfigError
from mcp_open.features.translate.glossaries import Glossary, GlossaryStore, parse_table
from mcp_open.features.translate.languages import normalize_source, normalize_target
from mcp_open.settings import Settings

SettingsFlags = Callable[..., None]
SettingsFrom = Callable[[argparse.Namespace], Settings]


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], flags: SettingsFlags, settings_of: SettingsFrom
) -> None:
    """Add the glossary command group to the command line."""
    parser = commands.add_parser("glossary", help="Create, list and remove stored translation glossaries.")
    parser.set_defaults(run=lambda _args: _help(parser))
    group = parser.add_subparsers(title="commands", metavar="COMMAND", dest="glossary_command")
    create = group.add_parser("create", help="Store a CSV/TSV glossary (source term, target term) under a name.")
    create.add_argument("name", help="The name translate's glossary argument will use.")
    create.add_argument("file", type=Path, help="A CSV or TSV file, one 'source term,target term' pair per row.")
    create.add_argument("--source-lang", help="The language of the source terms, e.g. en.")
    create.add_argument("--target-lang", help="The language of the target terms, e.g. de (checked at use).")
    listing = group.add_parser("list", help="The stored glossaries, with languages and entry counts.")
    remove = group.add_parser("remove", help="Delete a stored glossary.")
    remove.add_argument("name")
    for sub, run in ((create, _create), (listing, _list), (remove, _remove)):
        flags(sub, only=("data_dir",))
        sub.set_defaults(run=lambda args, run=run: run(args, GlossaryStore(settings_of(args).data_path)))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _create(args: argparse.Namespace, store: GlossaryStore) -> int:
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read {args.file}: {exc.strerror}; pass a CSV or TSV file") from None
    source = normalize_source(args.source_lang).code if args.source_lang else None
    target = normalize_target(args.target_lang).code if args.target_lang else None
    glossary = Glossary(parse_table(text, str(args.file)), args.name, source, target)
    path = store.save(glossary)
    print(f"stored glossary '{args.name}': {len(glossary.entries)} entries ({_pair(glossary)}) in {path}")
    return 0


def _list(_args: argparse.Namespace, store: GlossaryStore) -> int:
    names = store.names()
    if not names:
        print("no stored glossaries; create one with: mcp-open glossary create NAME FILE.csv")
    for name in names:
        glossary = store.load(name)
        print(f"{name}\t{_pair(glossary)}\t{len(glossary.entries)} entries")
    return 0


def _remove(args: argparse.Namespace, store: GlossaryStore) -> int:
    if not store.remove(args.name):
        print(f"mcp-open: no stored glossary named '{args.name}'", file=sys.stderr)
        return 1
    print(f"removed glossary '{args.name}'")
    return 0


def _pair(glossary: Glossary) -> str:
    return f"{glossary.source_lang or 'any'} -> {glossary.target_lang or 'any'}"

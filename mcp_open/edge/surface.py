"""What the calling model sees of the tools, and the arguments it sends checked against that.

Input schemas are offered compact and ready for strict mode (OpenAI, openai-agents, LangChain): every object
closed, no titles or defaults, every optional parameter nullable (null means its default), `json_schema` a JSON
string. Calls are checked against the same view: an unknown name is refused with the closest valid one, nulls
are dropped, a JSON-string schema is parsed, and a read-only server refuses the writing parameters.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

WRITING = ("output_path", "overwrite")  # the parameters that write files
# Objects strict mode cannot express (any keys): offered as JSON text. True: the text must be JSON; False: text
# that starts with "{" is JSON, other text is the parameter's own string form (a glossary's file or name).
JSON_TEXT = {"json_schema": True, "glossary": False}
DROPPED_KEYWORDS = frozenset({"title", "default"})
UNREACHED_BOUND = 1000  # maxItems this large (1,000 file specs) no call comes near: left out, still enforced
JsonSchema = dict[str, Any]


def offered_schema(schema: JsonSchema, *, read_only: bool) -> JsonSchema:
    """The input schema as offered: closed, compact, optional parameters nullable, writing ones gone if read-only."""
    defs = schema.get("$defs", {})
    required = [name for name in schema.get("required", []) if not (read_only and name in WRITING)]
    properties: JsonSchema = {}
    for name, sub in schema.get("properties", {}).items():
        if read_only and name in WRITING:
            continue
        shaped = _json_text(sub) if name in JSON_TEXT else _shape(sub, defs)
        properties[name] = shaped if name in required else _nullable(shaped)
    offered: JsonSchema = {"type": "object", "properties": properties}
    if required:
        offered["required"] = required
    offered["additionalProperties"] = False
    return offered


def _shape(schema: JsonSchema, defs: Mapping[str, JsonSchema]) -> JsonSchema:
    """One schema with $refs inlined, titles and defaults dropped, objects closed, `X | None` written compactly."""
    if "$ref" in schema:
        return _shape({**defs[schema["$ref"].rsplit("/", 1)[-1]], **_without(schema, {"$ref"})}, defs)
    shaped = {k: v for k, v in schema.items() if k not in DROPPED_KEYWORDS}
    if "anyOf" in shaped:
        options = [_shape(option, defs) for option in shaped.pop("anyOf")]
        real = [option for option in options if option != {"type": "null"}]
        if len(real) == 1 and len(options) == 2:
            return {**_nullable(real[0]), **shaped}
        return {"anyOf": options, **shaped}
    if "properties" in shaped:
        shaped["properties"] = {name: _shape(sub, defs) for name, sub in shaped["properties"].items()}
        shaped["additionalProperties"] = False
    if shaped.get("maxItems", 0) >= UNREACHED_BOUND:
        del shaped["maxItems"]
    if isinstance(shaped.get("items"), dict):
        shaped["items"] = _without(_shape(shaped["items"], defs), {"description"})  # the array's own says it
    return shaped


def _nullable(schema: JsonSchema) -> JsonSchema:
    """The schema, also allowing null."""
    kind = schema.get("type")
    if isinstance(kind, str) and kind != "null":
        nullable = {**schema, "type": [kind, "null"]}
        if "enum" in schema:
            nullable["enum"] = [*schema["enum"], None]
        return nullable
    if isinstance(kind, list):
        return schema if "null" in kind else {**schema, "type": [*kind, "null"]}
    if "anyOf" in schema:
        options = schema["anyOf"]
        return schema if {"type": "null"} in options else {**schema, "anyOf": [*options, {"type": "null"}]}
    return {"anyOf": [schema, {"type": "null"}]}


def _json_text(schema: JsonSchema) -> JsonSchema:
    """An any-shaped object parameter offered as a string holding its JSON."""
    return {"type": "string", "description": schema.get("description", "")}


def _without(schema: JsonSchema, keys: set[str]) -> JsonSchema:
    return {k: v for k, v in schema.items() if k not in keys}


@dataclass
class ToolView:
    """The tools as offered: input schemas and annotations after shaping."""

    read_only: bool
    writes: Mapping[str, str] = field(default_factory=dict)  # per tool, the sentence about writing files
    schemas: dict[str, JsonSchema] = field(default_factory=dict)

    def offer(self, tool: JsonSchema) -> JsonSchema:
        """One tools/list entry as the model sees it (the SDK's own entry is left alone)."""
        offered = copy.deepcopy(tool)
        offered["inputSchema"] = self.schemas.setdefault(
            tool["name"], offered_schema(tool["inputSchema"], read_only=self.read_only)
        )
        if self.read_only:
            sentence = self.writes.get(tool["name"])
            if sentence:
                offered["description"] = offered.get("description", "").replace(sentence, "").strip()
            hints = offered.get("annotations") or {}
            offered["annotations"] = {**hints, "readOnlyHint": True, "destructiveHint": False}
        return offered

    def checked(self, tool: str, arguments: Mapping[str, Any]) -> dict[str, Any] | str:
        """The arguments as the tool takes them (nulls dropped, JSON text parsed), or why they are refused."""
        schema = self.schemas.get(tool)
        if schema is None:
            return dict(arguments)
        known = list(schema["properties"])
        for name in arguments:
            if name not in schema["properties"]:
                return self._unknown(tool, name, known)
        kept = {name: value for name, value in arguments.items() if value is not None}
        for name in JSON_TEXT.keys() & kept.keys():
            text = kept[name]
            if isinstance(text, str) and (JSON_TEXT[name] or text.lstrip().startswith("{")):
                try:
                    kept[name] = json.loads(kept[name])
                except json.JSONDecodeError as exc:
                    return f"{name} is not valid JSON ({exc.msg} at character {exc.pos}); pass a JSON object"
        return kept

    def _unknown(self, tool: str, name: str, known: list[str]) -> str:
        """Why an argument name is refused, with the closest valid one."""
        if self.read_only and name in WRITING:
            return f"{tool} cannot write files on this server (it runs with --read-only); leave out {name}"
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"unknown argument '{name}' for {tool}; {hint}{tool} takes: {', '.join(known)}"


def model_view(mcp: MCPServer, read_only: bool, writes: Mapping[str, str]) -> ServerMiddleware[Any]:
    """Middleware: tools/list shows the offered schemas; tools/call arguments are checked against them."""
    view = ToolView(read_only, writes)

    async def shape(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and not view.schemas:
            for tool in await mcp.list_tools():
                view.offer(tool.model_dump(by_alias=True, mode="json", exclude_none=True))
        arguments = ctx.params.get("arguments") or {} if isinstance(ctx.params, Mapping) else None
        if ctx.method == "tools/call" and isinstance(ctx.params, Mapping) and isinstance(arguments, Mapping):
            checked = view.checked(str(ctx.params.get("name")), arguments)
            if isinstance(checked, str):
                return _tool_error(checked, ctx.protocol_version)
            ctx = replace(ctx, params={**ctx.params, "arguments": checked})
        result = await call_next(ctx)
        if ctx.method == "tools/list" and isinstance(result, dict) and isinstance(result.get("tools"), list):
            result = {**result, "tools": [view.offer(tool) for tool in result["tools"]]}
        return result

    return shape


def _tool_error(text: str, version: str) -> dict[str, Any]:
    """A tool result that tells the calling model what to fix (the SDK's own form for bad arguments)."""
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": True}
    if version in MODERN_PROTOCOL_VERSIONS:
        result["resultType"] = "complete"
    return result

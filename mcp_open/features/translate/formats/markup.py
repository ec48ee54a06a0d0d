"""Markup documents: XLIFF 1.2/2.x, Android strings.xml and HTML; inline tags travel inside a text, kept as they are."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from mcp_open.errors import InvalidRequestError
from mcp_open.features.translate.formats import Extracted

XLIFF_12 = "urn:oasis:names:tc:xliff:document:1.2"
XLIFF_2 = "urn:oasis:names:tc:xliff:document:2.0"
HTML_BLOCKS = frozenset(
    [
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "td",
        "th",
        "dt",
        "dd",
        "caption",
        "figcaption",
        "title",
        "button",
        "label",
        "option",
        "blockquote",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "aside",
        "main",
        "summary",
        "legend",
        "pre",
        "table",
        "tr",
        "ul",
        "ol",
        "dl",
        "form",
        "body",
        "html",
        "head",
        "figure",
    ]
)
HTML_SKIPPED = frozenset({"script", "style", "code", "pre", "noscript", "template", "svg", "math"})
HTML_ATTRIBUTES = ("alt", "title", "placeholder", "aria-label")


def _xml(data: bytes, what: str) -> Any:
    from lxml import etree

    try:
        parser = etree.XMLParser(remove_blank_text=False, resolve_entities=False, no_network=True)
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidRequestError(f"not valid {what} ({exc}); fix the file or translate it as text") from exc


def inner(element: Any) -> str:
    """An element's content as markup: its text and its children serialised, without the element's own tag."""
    from lxml import etree

    el = element
    parts = [el.text or ""]
    for child in el:
        parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
    text = "".join(parts)
    # Children repeat the namespaces their parent declares; set_inner declares them again when parsing back.
    for prefix, uri in (el.nsmap or {}).items():
        declared = f' xmlns:{prefix}="{uri}"' if prefix else f' xmlns="{uri}"'
        text = text.replace(declared, "")
    return text


def set_inner(element: Any, markup: str) -> None:
    """Replace an element's content with markup (the kept inline tags become elements again)."""
    from lxml import etree

    el = element
    nsmap = {k: v for k, v in (el.nsmap or {}).items() if k}
    declared = "".join(f' xmlns:{k}="{v}"' for k, v in nsmap.items())
    default = (el.nsmap or {}).get(None)
    declared += f' xmlns="{default}"' if default else ""
    holder = etree.fromstring(f"<holder{declared}>{markup}</holder>")
    for child in list(el):
        el.remove(child)
    el.text = holder.text
    for child in holder:
        el.append(child)


def _serialise(root: Any, original: bytes) -> bytes:
    from lxml import etree

    declaration = original.lstrip().startswith(b"<?xml")
    tree = root.getroottree()
    return bytes(etree.tostring(tree, xml_declaration=declaration, encoding="utf-8"))


def _markup_units(elements: list[Any], write: Callable[[Any, str], None], root: Any, data: bytes) -> Extracted:
    units = [inner(el) for el in elements]

    def rebuild(translations: list[str], target: str) -> bytes:
        for el, text in zip(elements, translations, strict=True):
            write(el, text)
        _mark_language(root, target)
        return _serialise(root, data)

    return Extracted(units, rebuild)


def _mark_language(root: Any, target: str) -> None:

    el = root
    if el.tag == f"{{{XLIFF_12}}}xliff":
        for file in el.iter(f"{{{XLIFF_12}}}file"):
            file.set("target-language", target)
    elif el.tag == f"{{{XLIFF_2}}}xliff":
        el.set("trgLang", target)


def read_xliff(data: bytes) -> Extracted:
    """Each source of an XLIFF 1.2 trans-unit or 2.x segment, written into its target (created when missing)."""
    root = _xml(data, "XLIFF")
    sources = [s for s in root.iter(f"{{{XLIFF_12}}}source", f"{{{XLIFF_2}}}source")]
    if not sources:
        raise InvalidRequestError("no <source> elements found: is this XLIFF 1.2 or 2.x?")

    def write(source: Any, text: str) -> None:

        src = source
        name = src.tag.replace("source", "target")
        parent = src.getparent()
        assert parent is not None  # a source always sits in a unit
        target = parent.find(name)
        if target is None:
            target = copy.deepcopy(src)
            target.tag = name
            target.attrib.clear()
            target.tail = src.tail
            src.addnext(target)
        set_inner(target, text)

    return _markup_units(sources, write, root, data)


def read_android(data: bytes) -> Extracted:
    """Android resources: each <string>, <string-array> <item> and <plurals> <item>; translatable="false" skipped."""
    root = _xml(data, "Android strings XML")
    if root.tag != "resources":
        raise InvalidRequestError("an .xml file is translated as Android resources, whose root is <resources>")
    elements = []
    for el in root.iter("string", "item"):
        owner = el if el.tag == "string" else el.getparent()
        if owner is not None and owner.get("translatable") != "false":
            elements.append(el)
    return _markup_units(elements, set_inner, root, data)


def read_html(data: bytes) -> Extracted:
    """HTML: each innermost block's content (inline tags kept), plus alt/title/placeholder attributes."""
    import lxml.html
    from lxml import etree

    text = data.decode("utf-8-sig")
    try:
        root = (
            lxml.html.document_fromstring(text)
            if "<html" in text.lower()
            else lxml.html.fragment_fromstring(text, create_parent="div")
        )
    except (etree.ParserError, ValueError) as exc:
        raise InvalidRequestError(f"not HTML the parser can read ({exc}); translate it as text") from exc
    blocks = [el for el in root.iter() if _leaf_block(el)]
    units = [inner(el) for el in blocks]
    attributes = [
        (el, name) for el in root.iter() if isinstance(el.tag, str) for name in HTML_ATTRIBUTES if el.get(name)
    ]
    units += [str(el.get(name)) for el, name in attributes]
    whole = "<html" in text.lower()

    def rebuild(translations: list[str], _target: str) -> bytes:
        for el, value in zip(blocks, translations, strict=False):
            _set_html(el, value)
        for (el, name), value in zip(attributes, translations[len(blocks) :], strict=True):
            el.set(name, value)
        if whole:
            doctype = root.getroottree().docinfo.doctype
            out = etree.tostring(root, method="html", encoding="unicode", doctype=doctype or None)
        else:
            out = (root.text or "") + "".join(etree.tostring(c, method="html", encoding="unicode") for c in root)
        return out.encode("utf-8") + (b"\n" if text.endswith("\n") and not out.endswith("\n") else b"")

    return Extracted(units, rebuild)


def _leaf_block(el: Any) -> bool:
    """A block whose content is text and inline tags only, with some text, outside skipped elements."""
    tag = getattr(el, "tag", None)
    if not isinstance(tag, str) or tag not in HTML_BLOCKS or tag in HTML_SKIPPED:
        return False
    if any(a.tag in HTML_SKIPPED for a in el.iterancestors()):
        return False
    if any(isinstance(d.tag, str) and d.tag in HTML_BLOCKS for d in el.iterdescendants()):
        return False
    return bool("".join(el.itertext()).strip())


def _set_html(element: Any, markup: str) -> None:
    import lxml.html

    el = element
    holder = lxml.html.fragment_fromstring(markup, create_parent="div")
    for child in list(el):
        el.remove(child)
    el.text = holder.text
    for child in holder:
        el.append(child)


def read_xml_text(data: bytes) -> Extracted:
    """An XML fragment (a text with tag_handling="xml"): each run of text between tags, tags kept exactly."""
    holder = _xml(b"<holder>" + data + b"</holder>", "XML (tag_handling='xml')")
    slots: list[tuple[Any, str]] = []
    for el in holder.iter():
        if not isinstance(el.tag, str):
            continue
        if el.text and el.text.strip():
            slots.append((el, "text"))
        if el is not holder and el.tail and el.tail.strip():
            slots.append((el, "tail"))
    units = [getattr(el, where) for el, where in slots]

    def rebuild(translations: list[str], _target: str) -> bytes:
        for (el, where), value in zip(slots, translations, strict=True):
            setattr(el, where, value)
        return inner(holder).encode("utf-8")

    return Extracted(units, rebuild)

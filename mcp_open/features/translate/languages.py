"""Supported translation languages: the table, DeepL-style code normalisation and language detection."""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mcp_open.errors import InvalidRequestError

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier


@dataclass(frozen=True)
class Language:
    """One supported language or regional variant; `base` is its primary subtag."""

    code: str
    name: str
    native: str
    base: str


def _entry(code: str, name: str, native: str) -> Language:
    """Build a table entry whose base is the code's primary subtag."""
    return Language(code=code, name=name, native=native, base=code.split("-")[0])


# Languages Qwen3 translates well and DeepL lists; names follow DeepL's /languages listing.
LANGUAGES: tuple[Language, ...] = (
    _entry("ar", "Arabic", "العربية"),
    _entry("bg", "Bulgarian", "Български"),
    _entry("cs", "Czech", "Čeština"),
    _entry("da", "Danish", "Dansk"),
    _entry("de", "German", "Deutsch"),
    _entry("el", "Greek", "Ελληνικά"),
    _entry("en", "English", "English"),
    _entry("en-GB", "English (British)", "British English"),
    _entry("en-US", "English (American)", "American English"),
    _entry("es", "Spanish", "Español"),
    _entry("es-419", "Spanish (Latin American)", "Español de Latinoamérica"),
    _entry("et", "Estonian", "Eesti"),
    _entry("fi", "Finnish", "Suomi"),
    _entry("fr", "French", "Français"),
    _entry("he", "Hebrew", "עברית"),
    _entry("hi", "Hindi", "हिन्दी"),
    _entry("hu", "Hungarian", "Magyar"),
    _entry("id", "Indonesian", "Bahasa Indonesia"),
    _entry("it", "Italian", "Italiano"),
    _entry("ja", "Japanese", "日本語"),
    _entry("ko", "Korean", "한국어"),
    _entry("lt", "Lithuanian", "Lietuvių"),
    _entry("lv", "Latvian", "Latviešu"),
    _entry("nb", "Norwegian Bokmål", "Norsk bokmål"),
    _entry("nl", "Dutch", "Nederlands"),
    _entry("pl", "Polish", "Polski"),
    _entry("pt", "Portuguese", "Português"),
    _entry("pt-BR", "Portuguese (Brazilian)", "Português do Brasil"),
    _entry("pt-PT", "Portuguese (European)", "Português europeu"),
    _entry("ro", "Romanian", "Română"),
    _entry("ru", "Russian", "Русский"),
    _entry("sk", "Slovak", "Slovenčina"),
    _entry("sl", "Slovenian", "Slovenščina"),
    _entry("sv", "Swedish", "Svenska"),
    _entry("th", "Thai", "ไทย"),
    _entry("tr", "Turkish", "Türkçe"),
    _entry("uk", "Ukrainian", "Українська"),
    _entry("vi", "Vietnamese", "Tiếng Việt"),
    _entry("zh", "Chinese", "中文"),
    _entry("zh-Hans", "Chinese (simplified)", "简体中文"),
    _entry("zh-Hant", "Chinese (traditional)", "繁體中文"),
)

_BY_CODE: dict[str, Language] = {lang.code.casefold(): lang for lang in LANGUAGES}

# A bare target code means DeepL's default variant (DeepL deprecated EN, PT and ZH as targets).
_DEFAULT_VARIANTS: dict[str, str] = {"en": "en-US", "pt": "pt-BR", "zh": "zh-Hans"}
_TARGET_DEFAULTS: dict[str, Language] = {
    base: _BY_CODE[variant.casefold()] for base, variant in _DEFAULT_VARIANTS.items()
}

# Deprecated or macro-language primary subtags that mean one of ours.
_PRIMARY_ALIASES: dict[str, str] = {"iw": "he", "in": "id", "no": "nb"}

# Regions whose written standard is one of our variants; any other region falls back to the base entry.
_REGION_VARIANTS: dict[str, str] = {
    "en-GB": "uk ie au nz za in",
    "es-419": "mx us ar bo cl co cr cu do ec gt hn ni pa pe pr py sv uy ve",
    "pt-PT": "ao cv gw mz st tl",
    "zh-Hans": "cn sg my",
    "zh-Hant": "tw hk mo",
}
_REGION_TO_CODE: dict[str, str] = {
    f"{variant.split('-')[0]}-{region}": variant.casefold()
    for variant, regions in _REGION_VARIANTS.items()
    for region in regions.split()
}

# English names people write that are not the table's names.
_NAME_ALIASES: dict[str, str] = {
    "norwegian": "nb",
    "bokmål": "nb",
    "bokmal": "nb",
    "slovene": "sl",
    "simplified chinese": "zh-hans",
    "traditional chinese": "zh-hant",
    "brazilian portuguese": "pt-br",
    "european portuguese": "pt-pt",
    "latin american spanish": "es-419",
}

_BY_NAME: dict[str, Language] = {
    **{alias: _BY_CODE[code] for alias, code in _NAME_ALIASES.items()},
    **{lang.native.casefold(): lang for lang in LANGUAGES},
    **{lang.name.casefold(): lang for lang in LANGUAGES},
}

_SOURCE_CODES: tuple[str, ...] = tuple(lang.code for lang in LANGUAGES if lang.code == lang.base)
_TARGET_CODES: tuple[str, ...] = tuple(lang.code for lang in LANGUAGES if lang.code not in _TARGET_DEFAULTS)

_TAG = re.compile(r"[a-z]{2,3}(-[a-z0-9]{1,8})*")


def _resolve(code: str) -> Language | None:
    """Map a code, BCP-47 tag or language name to its table entry, or None."""
    key = " ".join(code.casefold().split())
    if key in _BY_NAME:
        return _BY_NAME[key]
    key = key.replace("_", "-")
    if not _TAG.fullmatch(key):
        return None
    primary, *subtags = key.split("-")
    primary = _PRIMARY_ALIASES.get(primary, primary)
    for subtag in subtags:
        candidate = f"{primary}-{subtag}"
        candidate = _REGION_TO_CODE.get(candidate, candidate)
        if candidate in _BY_CODE:
            return _BY_CODE[candidate]
    return _BY_CODE.get(primary)


def _unknown(code: str, valid: tuple[str, ...]) -> InvalidRequestError:
    """The error for a code we cannot map, listing the codes that work."""
    shown = code if len(code) <= 40 else code[:40] + "..."
    return InvalidRequestError(
        f"unknown language code {shown!r}; valid codes: {', '.join(valid)} "
        "(case-insensitive; other regions such as 'fr-CA' and English names such as 'French' work too)"
    )


def normalize_target(code: str) -> Language:
    """Resolve a target code, tag or name to a table entry (e.g. 'EN_us' -> en-US, 'de-AT' -> de)."""
    lang = _resolve(code)
    if lang is None:
        raise _unknown(code, _TARGET_CODES)
    return _TARGET_DEFAULTS.get(lang.code, lang)


def normalize_source(code: str) -> Language:
    """Resolve a source code, tag or name to its regionless base entry (e.g. 'en-US' -> en)."""
    lang = _resolve(code)
    if lang is None:
        raise _unknown(code, _SOURCE_CODES)
    return _BY_CODE[lang.base]


def supported_languages() -> list[Language]:
    """Every entry of the table, base languages and regional variants, in code order."""
    return list(LANGUAGES)


def source_languages() -> list[Language]:
    """The entries accepted and reported as source languages (no regions)."""
    return [_BY_CODE[code.casefold()] for code in _SOURCE_CODES]


def target_languages() -> list[Language]:
    """The entries `normalize_target` can return (en, pt and zh only as regional variants)."""
    return [_BY_CODE[code.casefold()] for code in _TARGET_CODES]


# py3langid labels Norwegian Bokmål 'no'; every other base code is its own label.
_TO_LANGID: dict[str, str] = {"nb": "no"}
_FROM_LANGID: dict[str, str] = {label: code for code, label in _TO_LANGID.items()}
# Among ~34 candidates chance is 0.03; short or ambiguous text ("hello", "Hallo") scores below this.
_MIN_CONFIDENCE = 0.25
# Detection is linear in length (about 0.15 ms per 1,000 characters); the head of a text is enough.
_MAX_DETECT_CHARS = 20_000
_identifier_lock = threading.Lock()


@functools.cache
def _load_identifier() -> LanguageIdentifier:
    """Load py3langid's bundled model restricted to our base languages (about one second)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([_TO_LANGID.get(code, code) for code in _SOURCE_CODES])
    return identifier


def _identifier() -> LanguageIdentifier:
    """The shared identifier, loaded once even when several threads ask first."""
    # functools.cache alone may run the one-second load twice under concurrent first calls.
    with _identifier_lock:
        return _load_identifier()


def detect_language(text: str) -> Language | None:
    """The base language of `text`, or None when it has no letters or no language stands out."""
    if not any(char.isalpha() for char in text):
        return None
    # classify() only reads the model and allocates its own arrays, so threads can share it.
    label, confidence = _identifier().classify(text[:_MAX_DETECT_CHARS])
    if confidence < _MIN_CONFIDENCE:
        return None
    return _BY_CODE[_FROM_LANGID.get(label, label)]


def detect_sources(texts: list[str]) -> list[Language | None]:
    """Each text's detected language; a text with words but no clear language takes the call's commonest one."""
    found = [detect_language(text) for text in texts]
    known = [lang for lang in found if lang is not None]
    if not known:
        return found
    commonest = max(known, key=known.count)
    has_words = [any(c.isalpha() for c in text) for text in texts]
    return [lang or (commonest if words else None) for lang, words in zip(found, has_words, strict=True)]

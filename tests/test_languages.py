"""Tests for the language table, DeepL-style code normalisation and detection."""

import threading

import pytest

from mcp_open.errors import InvalidRequestError
from mcp_open.features.translate.languages import (
    Language,
    detect_language,
    normalize_source,
    normalize_target,
    source_languages,
    supported_languages,
    target_languages,
)

TARGET_CASES = [
    ("de", "de"),
    ("DE", "de"),
    ("  fr  ", "fr"),
    ("EN_us", "en-US"),
    ("en-us", "en-US"),
    ("EN-GB", "en-GB"),
    ("en", "en-US"),
    ("en-CA", "en-US"),
    ("en-AU", "en-GB"),
    ("en-Latn-GB", "en-GB"),
    ("zh", "zh-Hans"),
    ("zh-hans", "zh-Hans"),
    ("ZH_HANT", "zh-Hant"),
    ("zh-CN", "zh-Hans"),
    ("zh-SG", "zh-Hans"),
    ("zh-TW", "zh-Hant"),
    ("zh-HK", "zh-Hant"),
    ("zh-Hant-TW", "zh-Hant"),
    ("zh-Hans-HK", "zh-Hans"),
    ("pt", "pt-BR"),
    ("pt-pt", "pt-PT"),
    ("pt_BR", "pt-BR"),
    ("pt-AO", "pt-PT"),
    ("es", "es"),
    ("es-ES", "es"),
    ("es-419", "es-419"),
    ("es-MX", "es-419"),
    ("es-ar", "es-419"),
    ("nb", "nb"),
    ("no", "nb"),
    ("no-NO", "nb"),
    ("nb_NO", "nb"),
    ("iw", "he"),
    ("iw-IL", "he"),
    ("in", "id"),
    ("fr-CA", "fr"),
    ("de-AT", "de"),
    ("de-CH", "de"),
    ("it-CH", "it"),
    ("sv-FI", "sv"),
    ("French", "fr"),
    ("german", "de"),
    ("JAPANESE", "ja"),
    ("English", "en-US"),
    ("Chinese", "zh-Hans"),
    ("Portuguese", "pt-BR"),
    ("Norwegian", "nb"),
    ("norwegian  bokmål", "nb"),
    ("Chinese (traditional)", "zh-Hant"),
    ("traditional chinese", "zh-Hant"),
    ("Brazilian Portuguese", "pt-BR"),
    ("European Portuguese", "pt-PT"),
    ("British English", "en-GB"),
    ("Latin American Spanish", "es-419"),
    ("Deutsch", "de"),
    ("français", "fr"),
    ("日本語", "ja"),
    ("Русский", "ru"),
]

SOURCE_CASES = [
    ("en-US", "en"),
    ("EN_gb", "en"),
    ("en", "en"),
    ("pt-BR", "pt"),
    ("pt", "pt"),
    ("zh-Hant", "zh"),
    ("zh-TW", "zh"),
    ("zh-CN", "zh"),
    ("es-419", "es"),
    ("es-MX", "es"),
    ("fr-CA", "fr"),
    ("no", "nb"),
    ("iw", "he"),
    ("Chinese (simplified)", "zh"),
    ("brazilian portuguese", "pt"),
    ("Korean", "ko"),
    ("uk", "uk"),
]

UNKNOWN_CODES = ["xx", "", "   ", "klingon", "en-", "-US", "e", "english!", "zh--hans", "nn", "fa", "x" * 500]

SENTENCES = [
    ("en", "The weather was lovely this morning, so we walked to the market together."),
    ("fr", "Le temps était magnifique ce matin, alors nous sommes allés au marché ensemble."),
    ("de", "Das Wetter war heute Morgen herrlich, also sind wir zusammen zum Markt gegangen."),
    ("es", "El tiempo estaba precioso esta mañana, así que fuimos juntos al mercado del pueblo."),
    ("ja", "今朝は天気がとても良かったので、私たちは一緒に市場まで歩いて行きました。"),
    ("zh", "今天早上天气很好，所以我们一起走路去市场买了很多新鲜的蔬菜和水果。"),
    ("ru", "Сегодня утром была прекрасная погода, поэтому мы вместе пошли пешком на рынок."),
    ("ar", "كان الطقس جميلا هذا الصباح، لذلك ذهبنا معا سيرا على الأقدام إلى السوق."),
    ("nb", "Været var nydelig i morges, så vi gikk sammen til markedet for å handle grønnsaker."),
]


@pytest.mark.parametrize(("code", "expected"), TARGET_CASES)
def test_normalize_target(code: str, expected: str) -> None:
    assert normalize_target(code).code == expected


@pytest.mark.parametrize(("code", "expected"), SOURCE_CASES)
def test_normalize_source_drops_the_region(code: str, expected: str) -> None:
    assert normalize_source(code).code == expected


@pytest.mark.parametrize("code", UNKNOWN_CODES)
def test_unknown_code_is_rejected_for_both_directions(code: str) -> None:
    with pytest.raises(InvalidRequestError, match="unknown language code"):
        normalize_target(code)
    with pytest.raises(InvalidRequestError, match="unknown language code"):
        normalize_source(code)


def test_unknown_target_message_lists_the_valid_target_codes() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        normalize_target("xx")
    message = str(caught.value)
    assert message.startswith("unknown language code 'xx'; valid codes: ar, bg, cs, da, de, el, en-GB, en-US")
    listed = message.split("valid codes: ")[1].split(" (")[0].split(", ")
    assert listed == [lang.code for lang in target_languages()]
    assert "zh-Hans" in listed and "pt-BR" in listed and "zh" not in listed


def test_unknown_source_message_lists_regionless_codes() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        normalize_source("Klingon")
    message = str(caught.value)
    listed = message.split("valid codes: ")[1].split(" (")[0].split(", ")
    assert listed == [lang.code for lang in source_languages()]
    assert "zh" in listed and "en" in listed and "en-US" not in listed
    assert "'Klingon'" in message


def test_unknown_message_truncates_a_huge_code() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        normalize_target("q" * 10_000)
    assert len(str(caught.value)) < 1_000


def test_table_shape() -> None:
    languages = supported_languages()
    codes = [lang.code for lang in languages]
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes, key=str.casefold)
    assert len(source_languages()) == 34
    assert {"en-US", "en-GB", "es-419", "pt-BR", "pt-PT", "zh-Hans", "zh-Hant"} <= set(codes)
    for lang in languages:
        assert lang.base == lang.code.split("-")[0]
        assert lang.base in codes, f"variant {lang.code} lacks a base entry"
        assert lang.name and lang.native


@pytest.mark.parametrize("lang", supported_languages(), ids=lambda lang: lang.code)
def test_every_entry_round_trips_by_code_name_and_native(lang: Language) -> None:
    for spelling in (lang.code, lang.code.upper(), lang.code.replace("-", "_"), lang.name, lang.native):
        assert normalize_source(spelling).code == lang.base
        target = normalize_target(spelling)
        assert target.base == lang.base
        if lang in target_languages():
            assert target == lang


def test_every_target_is_listed() -> None:
    targets = target_languages()
    assert all(normalize_target(lang.code) in targets for lang in supported_languages())


def test_language_is_frozen() -> None:
    lang = normalize_target("fr")
    with pytest.raises(AttributeError):
        lang.code = "de"  # type: ignore[misc]


@pytest.mark.parametrize(("expected", "sentence"), SENTENCES, ids=[code for code, _ in SENTENCES])
def test_detect_clear_sentences(expected: str, sentence: str) -> None:
    detected = detect_language(sentence)
    assert detected is not None
    assert detected.code == expected
    assert detected == normalize_source(expected)


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "12345 67", "!!! ??? ...", "😀😀😀"])
def test_detect_returns_none_without_letters(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize("text", ["Hallo", "qqqq"])
def test_detect_returns_none_when_no_language_stands_out(text: str) -> None:
    assert detect_language(text) is None


def test_detect_reads_only_the_head_of_a_long_text() -> None:
    head = "Die Katze schläft auf dem Sofa, während draußen der Regen fällt. " * 400
    tail = "Le chat dort sur le canapé pendant que la pluie tombe dehors. " * 4_000
    detected = detect_language(head + tail)
    assert detected is not None and detected.code == "de"  # the French tail, ten times longer, was never read


def test_detect_from_many_threads_agrees() -> None:
    results: list[tuple[str | None, str]] = []

    def work() -> None:
        for code, sentence in SENTENCES:
            detected = detect_language(sentence)
            results.append((None if detected is None else detected.code, code))  # list.append is atomic

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 * len(SENTENCES)
    assert all(detected == expected for detected, expected in results)


def test_detector_loads_once_under_concurrent_first_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    from py3langid.langid import LanguageIdentifier

    from mcp_open.features.translate import languages

    real = LanguageIdentifier.from_model_file
    loads: list[int] = []

    def counting(model_file: str, *args: object, **kwargs: object) -> LanguageIdentifier:
        loads.append(1)
        return real(model_file, *args, **kwargs)

    monkeypatch.setattr(LanguageIdentifier, "from_model_file", counting)
    languages._load_identifier.cache_clear()
    threads = [threading.Thread(target=detect_language, args=(SENTENCES[0][1],)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == [1]

"""The corpus sentence list: size, shape, reproducibility and phonetic coverage."""
from __future__ import annotations

import pytest

from dtsdk.corpus.phones import CONSONANTS, PHONES
from dtsdk.corpus.sentences import (MAX_WORDS, MIN_WORDS, generate_sentences, letter_phones, load_sentences,
                                    phonetic_coverage)
from dtsdk.corpus.tts import engine_available


def test_at_least_1000_distinct_sentences_of_4_to_14_words():
    sentences = load_sentences()
    assert len(sentences) >= 1000
    assert len({s.lower() for s in sentences}) == len(sentences)
    for s in sentences:
        assert MIN_WORDS <= len(s.split()) <= MAX_WORDS, s
        assert s[0].isupper() and s[-1] in ".?", s
        assert " a a" not in s and " a o" not in s.lower() and " a u" not in s.lower().replace(" a uk", ""), s


def test_file_is_the_generator_output():
    assert load_sentences() == generate_sentences()
    assert generate_sentences(50, seed=7) == generate_sentences(50, seed=7) != generate_sentences(50, seed=8)


def test_letter_proxy_coverage():
    coverage = phonetic_coverage(load_sentences(), letter_phones)
    for phone in "p b m f v w uw ow aa ae ao ch jh sh th".split():
        assert coverage.phones[phone] >= 100, phone


@pytest.mark.skipif(not engine_available("espeak-ng"), reason="espeak-ng not installed (apt-get install espeak-ng)")
def test_espeak_coverage_of_phones_and_diphones():
    from dtsdk.corpus.tts.espeak import text_to_phones

    coverage = phonetic_coverage(load_sentences(), lambda text: text_to_phones(text, "en-us"))
    # Every consonant but the rare syllabic and flap forms, and the vowels the face cares about.
    rare = {"em", "en", "el", "dx", "axr", "ix", "sil"}
    assert coverage.missing(PHONES - rare) == set()
    for phone in "p b m f v w uw ow oy aa ae ao aw ay iy".split():
        assert coverage.phones[phone] >= 50, (phone, coverage.phones[phone])
    assert len(coverage.diphones) >= 800
    # Lips closing into and opening out of every vowel class.
    vowels_after_bilabials = {b for (a, b) in coverage.diphones if a in ("p", "b", "m") and b not in CONSONANTS}
    assert len(vowels_after_bilabials) >= 12

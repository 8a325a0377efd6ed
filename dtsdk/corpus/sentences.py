"""The corpus's English sentences, and how phonetically varied they are.

``dtsdk/corpus/data/sentences.txt`` holds 1,200 distinct sentences of 4 to 14 words, one per
line.  They come from :func:`generate_sentences` (seed 1969), a documented deterministic
generator; no third-party text is included, so there is no licence question.  Regenerate with::

    python -c "from dtsdk.corpus.sentences import write_sentences; write_sentences()"

The generator fills 14 sentence templates (statements, questions, requests, two-clause
sentences) from word lists chosen for what the face must show:

* bilabial closures: p/b/m (``pumpkin``, ``bubble``, ``maple``, ``Bob``, ``Pam``),
* labiodentals: f/v (``violin``, ``fluffy``, ``velvet``, ``five``),
* lip rounding: uw/ow/w/uh/oy/sh (``goose``, ``woolen``, ``window``, ``rope``, ``cushion``),
* open vowels for the jaw: aa/ae/ao/aw/ay (``father``, ``lantern``, ``saucer``, ``owl``),
* spread vowels iy/ih/ey, dentals th/dh, affricates ch/jh, and every other ARPAbet consonant,

so the phone and diphone coverage is wide (``phonetic_coverage``; the tests check it).
"""
from __future__ import annotations

import collections
import functools
import random
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

SENTENCES_FILE = "sentences.txt"
DEFAULT_COUNT = 1200
DEFAULT_SEED = 1969
MIN_WORDS, MAX_WORDS = 4, 14

NAMES = ("Bob", "Pam", "Mabel", "Ben", "Molly", "Paul", "Vivian", "Fiona", "Victor", "Hugo", "Ruth",
         "Lou", "Owen", "Joan", "Chuck", "George", "Judy", "Theo", "Cathy", "Gus", "Zoe", "Ivan",
         "Shauna", "Wendy", "Yusuf", "Nora", "Larry", "Kate", "Doug", "Tom", "Agnes", "Oscar")
NOUNS = ("map", "pumpkin", "bubble", "mop", "parcel", "puppy", "banjo", "basket", "pebble", "bamboo pole",
         "box", "violin", "fox", "vase", "feather", "muffin", "valve", "fiddle", "envelope", "stove",
         "spoon", "boot", "goose", "shoe", "rope", "window", "wagon", "cushion", "broom", "poodle",
         "lantern", "saucer", "jar", "cart", "tower", "kite", "pocket watch", "cabbage", "ladder",
         "thimble", "judge", "chair", "cheese", "bridge", "hammer", "garden hose", "kettle", "owl",
         "ukulele", "oyster", "yacht", "zebra", "measuring tape", "teapot", "mushroom", "lemon",
         "anchor", "umbrella", "tulip", "whistle", "treasure chest", "bicycle", "pillow", "napkin")
ADJECTIVES = ("big", "purple", "bumpy", "empty", "simple", "fluffy", "velvet", "heavy", "five foot",
              "smooth", "blue", "woolen", "round", "loose", "yellow", "old", "shiny", "dark", "large",
              "tall", "wide", "brown", "cheap", "huge", "tiny", "sharp", "thick", "rough", "oval",
              "wet", "zigzag", "orange", "juicy", "odd", "gloomy", "noisy", "polished")
ADJECTIVES_PRED = ("warm", "awful", "boring", "fragile", "enormous", "expensive", "muddy", "quiet",
                   "smooth", "bumpy", "heavy", "cheap", "shiny", "wobbly", "soggy", "frozen", "valuable")
PLACES = ("barn", "harbor", "porch", "pool", "roof", "bathtub", "market", "forest", "museum", "valley",
          "shop", "mailbox", "cupboard", "water", "fountain", "garage", "village", "tavern", "zoo",
          "church", "hallway", "swamp", "meadow", "hut", "bookshelf", "cottage", "yard", "boat")
PREPOSITIONS = ("by", "on", "under", "behind", "beside", "near", "past", "through", "over", "inside",
                "toward", "above", "off")
MOTION_PAST = ("rolled", "slid", "floated", "bounced", "drifted", "fell", "wobbled", "vanished",
               "tumbled", "flew", "moved", "popped", "sank", "swayed", "shook")
ACTION_PAST = ("bought", "moved", "packed", "found", "polished", "carried", "borrowed", "painted",
               "fixed", "washed", "dropped", "opened", "hid", "weighed", "pushed", "fetched", "grabbed",
               "measured", "chose", "loved", "wrapped", "threw", "shipped", "judged", "sold", "boiled")
ACTION_BASE = ("buy", "move", "pack", "find", "polish", "carry", "borrow", "paint", "fix", "wash",
               "drop", "open", "hide", "weigh", "push", "fetch", "grab", "measure", "choose", "wrap",
               "throw", "ship", "judge", "sell", "boil", "mop", "feed", "show", "view", "bring")
ADVERBS = ("quickly", "slowly", "with both hands", "very gently", "before noon", "by the window",
           "without a sound", "at dawn", "for an hour", "all morning", "twice", "with great care")
TIMES = ("this morning", "last Thursday", "at five o'clock", "every June", "before lunch", "yesterday",
         "on Monday", "after the show", "each autumn", "at midnight", "last week", "in the evening")
NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve")
RELATIVES = ("mother", "father", "brother", "aunt", "uncle", "cousin", "boss", "neighbor", "nephew")
PLURALS = ("apples", "boxes", "vases", "bubbles", "muffins", "spoons", "boots", "ropes", "jars",
           "kites", "chairs", "pebbles", "oysters", "tulips", "pillows", "lanterns", "feathers")

# Slot letters: N noun, A adjective, Q predicative adjective, P place, R preposition, M motion
# verb (past), V action verb (past), B action verb (base), D adverb, T time, K name,
# U number, L relative, S plural.  "a" before a slot becomes "an" before a vowel sound.
TEMPLATES = (
    "The {A} {N} {M} {R} the {P}.",
    "{K} {V} a {A} {N} {T}.",
    "{K} and {K} {V} the {N} {R} the {P}.",
    "Please {B} the {A} {N} {D}.",
    "Did {K} {B} the {N} {R} the {P}?",
    "We {V} {U} {A} {S} {T}.",
    "{K} said the {N} was too {Q} to {B}.",
    "Why is the {N} {R} the {P} so {Q}?",
    "A {A} {N} and a {A} {N} {M} {D}.",
    "My {L} {V} the {N} {R} the {P} {T}.",
    "{K} never {V} a {N} this {Q}.",
    "Put the {N} {R} the {P}, then {B} the {N}.",
    "The {N} looked {Q}, so {K} {V} it {D}.",
    "How many {S} did your {L} {B} {T}?",
)
_VOWEL_SOUND = re.compile(r"^(?:[aeio]|u(?!ku|ni))", re.IGNORECASE)  # "an owl", "a ukulele"


def _pick(rng: random.Random, slot: str, used: set[str]) -> str:
    lists = {"N": NOUNS, "A": ADJECTIVES, "Q": ADJECTIVES_PRED, "P": PLACES, "R": PREPOSITIONS,
             "M": MOTION_PAST, "V": ACTION_PAST, "B": ACTION_BASE, "D": ADVERBS, "T": TIMES, "K": NAMES,
             "U": NUMBERS, "L": RELATIVES, "S": PLURALS}[slot]
    for _ in range(8):  # avoid "Bob and Bob", "the box ... the box"
        word = rng.choice(lists)
        if word not in used:
            break
    used.add(word)
    return word


def _fill(template: str, rng: random.Random) -> str:
    used: set[str] = set()
    text = re.sub(r"\{(\w)\}", lambda m: _pick(rng, m.group(1), used), template)
    text = re.sub(r"\b([Aa]) (?=(\w+))", lambda m: m.group(1) + ("n " if _VOWEL_SOUND.match(m.group(2)) else " "), text)
    return text[0].upper() + text[1:]


def generate_sentences(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[str]:
    """``count`` distinct sentences of 4..14 words from the templates, deterministic given ``seed``.

    Templates are used in turn (not drawn), so each contributes about ``count / 14`` sentences.
    """
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > 50 * count:
            raise RuntimeError(f"the templates cannot make {count} distinct sentences")
        sentence = _fill(TEMPLATES[attempts % len(TEMPLATES)], rng)
        if sentence.lower() not in seen and MIN_WORDS <= len(sentence.split()) <= MAX_WORDS:
            seen.add(sentence.lower())
            out.append(sentence)
    return out


def write_sentences(path: str | Path | None = None, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> Path:
    """Regenerate the shipped sentence file (or write to ``path``)."""
    path = Path(path) if path else Path(__file__).parent / "data" / SENTENCES_FILE
    path.write_text("\n".join(generate_sentences(count, seed)) + "\n", encoding="utf-8")
    return path


@functools.lru_cache(maxsize=1)
def _load() -> tuple[str, ...]:
    text = resources.files("dtsdk.corpus").joinpath("data", SENTENCES_FILE).read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def load_sentences() -> list[str]:
    """The corpus sentences, in file order (a sentence's index is its id in corpus manifests)."""
    return list(_load())


# -- phonetic coverage -------------------------------------------------------------------------

# A rough letter-to-sound proxy for when no TTS engine is installed: longest grapheme first.
_GRAPHEMES = (("tch", "ch"), ("igh", "ay"), ("ch", "ch"), ("sh", "sh"), ("th", "th"), ("ph", "f"),
              ("ng", "ng"), ("ck", "k"), ("qu", "k w"), ("wh", "w"), ("oo", "uw"), ("ee", "iy"),
              ("ea", "iy"), ("ai", "ey"), ("ay", "ey"), ("oa", "ow"), ("ow", "ow"), ("ou", "aw"),
              ("oi", "oy"), ("oy", "oy"), ("au", "ao"), ("aw", "ao"), ("ar", "aa r"), ("er", "er"),
              ("ir", "er"), ("ur", "er"), ("or", "ao r"), ("a", "ae"), ("e", "eh"), ("i", "ih"),
              ("o", "aa"), ("u", "ah"), ("y", "iy"), ("b", "b"), ("c", "k"), ("d", "d"), ("f", "f"),
              ("g", "g"), ("h", "hh"), ("j", "jh"), ("k", "k"), ("l", "l"), ("m", "m"), ("n", "n"),
              ("p", "p"), ("r", "r"), ("s", "s"), ("t", "t"), ("v", "v"), ("w", "w"), ("x", "k s"),
              ("z", "z"))
_GRAPHEME_RE = re.compile("|".join(g for g, _ in _GRAPHEMES))
_GRAPHEME_PHONES = dict(_GRAPHEMES)


def letter_phones(text: str) -> list[str]:
    """Approximate ARPAbet phones of ``text`` from its spelling (no engine needed; crude by design)."""
    phones: list[str] = []
    for word in re.findall(r"[a-z]+", text.lower()):
        for grapheme in _GRAPHEME_RE.findall(word):
            phones += _GRAPHEME_PHONES[grapheme].split()
    return phones


@dataclass(frozen=True)
class Coverage:
    """How many times each phone and each within-sentence phone pair (diphone) occurs."""

    phones: collections.Counter
    diphones: collections.Counter

    def missing(self, inventory) -> set[str]:
        """Phones of ``inventory`` that never occur."""
        return set(inventory) - set(self.phones)


def phonetic_coverage(sentences, to_phones=letter_phones) -> Coverage:
    """Phone and diphone counts over ``sentences``, transcribed by ``to_phones(text) -> list[str]``.

    Pass ``dtsdk.corpus.tts.espeak.text_to_phones`` for espeak-ng's real transcription.
    """
    phones: collections.Counter = collections.Counter()
    diphones: collections.Counter = collections.Counter()
    for sentence in sentences:
        seq = [p for p in to_phones(sentence) if p != "sil"]
        phones.update(seq)
        diphones.update(zip(seq, seq[1:]))
    return Coverage(phones, diphones)

"""espeak-ng phoneme mnemonics (its own ASCII alphabet) -> the shared ARPAbet phone set.

espeak-ng reports phonemes in the names of its phoneme tables (``phsource/ph_english*``), which
are Kirshenbaum-like: ``@`` schwa, ``I`` lax i, ``aI`` price, ``T``/``D`` the th sounds, ``S``/``Z``
sh/zh, ``tS``/``dZ`` ch/j, ``N`` ng, ``0`` the lot vowel, ``V`` strut, ``3`` r-coloured schwa ...
Digits, ``#``, ``-`` and ``/`` mark accent or position variants of the same phoneme (``@2``,
``I2``, ``r-``, ``l/2``, ``a#``); ``:`` marks length.  Names starting with ``_`` are pauses.

Mapping decisions (one espeak phoneme -> one ARPAbet phone, so timings are never split by guesswork):

* Diphthongs ending in schwa collapse onto their nucleus, which is what the lips and jaw do for
  most of the phone: ``i@``/``I@`` near -> ``ih``, ``e@`` square -> ``eh``, ``U@`` cure -> ``uh``,
  ``aI@`` -> ``ay``, ``aU@`` -> ``aw``.  r-coloured vowels: ``A@``/``A:`` -> ``aa``, ``O@``/``o@``
  -> ``ao``, ``3``/``3:`` -> ``er``, ``@r`` -> ``axr``.
* British ``0`` (lot, rounded) and American ``0`` (unrounded) both map to ``aa`` as CMUdict
  writes "lot"; ``O:``/``O`` (thought) -> ``ao``.
* ``a``/``aa`` (trap/bath) -> ``ae``; ``a#`` (the reduced vowel of "a", "about") -> ``ax``;
  ``A``/``A:`` (palm) -> ``aa``.
* ``i`` (happy) -> ``iy``; ``@``, ``@2``, ``@5``, ``a2`` (reduced vowels) -> ``ax``; ``I2``/``I#`` -> ``ih``.
* Syllabic consonants: ``@L`` -> ``el``, ``n-`` -> ``en``, ``m-`` -> ``em``.
* ``t#`` (the American flap) -> ``dx``; ``t[``/``d[`` (dental) -> ``t``/``d``; ``;`` (the glide
  espeak-ng puts between "i" and a vowel, "Theo") -> ``y``; ``?`` (glottal stop) -> ``t``, the stop it replaces in
  English; ``x`` (loch) -> ``k``; ``W`` and ``hw`` -> ``w``; ``C`` -> ``hh``; ``r``, ``r-``, ``*``
  (tap) -> ``r``; ``l``, ``l/``, ``l/2`` (dark l) -> ``l``.
* Pauses (``_``, ``_:``, ``_!``, ``_|``, ``_^_``, ...) -> ``sil``.

A mnemonic not in the table is looked up again without its variant marks (digits, ``#``, ``-``,
``/``, ``:``), then by its longest known prefix; a last resort is ``ah`` for vowel-looking names and
``sil`` otherwise.  Each such fallback is counted in :data:`UNMAPPED` and warned about once, so a new
espeak-ng release with new names degrades one phone, never crashes a corpus build.
"""
from __future__ import annotations

import collections
import re
import warnings

from dtsdk.corpus.phones import PHONES, SILENCE

ESPEAK_TO_ARPABET: dict[str, str] = {
    # -- vowels -------------------------------------------------------------------------------
    "@": "ax", "@2": "ax", "@5": "ax", "a2": "ax", "@#": "ax",
    "3": "er", "3:": "er", "@r": "axr", "3r": "er", "VR": "er",
    "a": "ae", "aa": "ae", "&": "ae", "a#": "ax",
    "A": "aa", "A:": "aa", "A@": "aa", "A#": "aa", "0": "aa", "0#": "aa",
    "V": "ah", "V#": "ah",
    "E": "eh", "E2": "eh", "E#": "eh", "e": "eh", "e@": "eh", "e#": "eh",
    "eI": "ey", "eI#": "ey", "e:": "ey",
    "I": "ih", "I2": "ih", "I#": "ih", "I@": "ih", "i@": "ih", "i@3": "ih", "I2#": "ih",
    "i": "iy", "i:": "iy", "iI": "iy", "i#": "iy",
    "O": "ao", "O:": "ao", "O2": "ao", "O@": "ao", "o@": "ao", "O#": "ao", "o": "ao",
    "oU": "ow", "oU#": "ow", "o:": "ow", "@U": "ow", "OU": "ow",
    "OI": "oy", "aI": "ay", "aI2": "ay", "aI@": "ay", "aI3": "ay", "aI#": "ay", "Ai": "ay",
    "aU": "aw", "aU@": "aw", "aU#": "aw",
    "U": "uh", "U@": "uh", "U#": "uh",
    "u": "uw", "u:": "uw", "u:#": "uw", "U:": "uw", "ju:": "uw",
    "@L": "el", "@l": "el",
    # -- consonants ---------------------------------------------------------------------------
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "g": "g",
    "t#": "dx", "d#": "d", "t2": "t", "d2": "d", "?": "t", "t[": "t", "d[": "d",
    "f": "f", "v": "v", "T": "th", "D": "dh", "s": "s", "z": "z", "S": "sh", "Z": "zh",
    "h": "hh", "C": "hh", "x": "k",
    "tS": "ch", "dZ": "jh",
    "m": "m", "n": "n", "N": "ng", "m-": "em", "n-": "en", "N-": "ng",
    "l": "l", "l/": "l", "l/2": "l", "l#": "l", "L": "l",
    "r": "r", "r-": "r", "*": "r", "R": "r", "r/": "r",
    "w": "w", "w#": "w", "W": "w", "hw": "w", "j": "y", ";": "y",
}

UNMAPPED: collections.Counter[str] = collections.Counter()  # fallbacks taken, by espeak mnemonic
_VARIANT_MARKS = re.compile(r"[0-9#\-/:]+$")
_VOWEL_LETTERS = set("@3aAeEiIoOuUV0&")


def espeak_to_arpabet(mnemonic: str) -> str:
    """The ARPAbet phone (lower case, in :data:`dtsdk.corpus.phones.PHONES`) for one espeak-ng mnemonic."""
    name = mnemonic.strip()
    if not name or name.startswith("_"):
        return SILENCE
    phone = ESPEAK_TO_ARPABET.get(name)
    if phone is not None:
        return phone
    phone = ESPEAK_TO_ARPABET.get(_VARIANT_MARKS.sub("", name))
    for cut in range(len(name) - 1, 0, -1):  # longest known prefix ("oUs" -> "oU")
        if phone is None:
            phone = ESPEAK_TO_ARPABET.get(name[:cut])
    if phone is None:
        phone = "ah" if name[0] in _VOWEL_LETTERS else SILENCE
    if mnemonic not in UNMAPPED:
        warnings.warn(f"espeak-ng phoneme '{mnemonic}' is not in dtsdk's table; using '{phone}'", stacklevel=2)
    UNMAPPED[mnemonic] += 1
    return phone


assert set(ESPEAK_TO_ARPABET.values()) <= PHONES, set(ESPEAK_TO_ARPABET.values()) - PHONES

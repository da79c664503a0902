"""CLIP byte-level BPE text tokenizer, id-compatible with OpenCLIP's `tokenize`.

The UniTok text tower was trained on ids from OpenCLIP's SimpleTokenizer, so any difference in
cleaning, pre-tokenization or merge order changes the text embeddings. The rules below follow
that tokenizer: ftfy + double HTML unescape, whitespace collapsing, lower-casing, the CLIP
pre-tokenization regex, byte-to-unicode mapping, BPE with a '</w>' end-of-word marker, and
<start_of_text>/<end_of_text> around every sequence.
"""
from __future__ import annotations

import functools
import gzip
import html
from pathlib import Path
from typing import Iterable, Sequence

import ftfy
import regex
import torch

DEFAULT_VOCAB_PATH = Path(__file__).resolve().parent / "assets" / "bpe_simple_vocab_16e6.txt.gz"
DEFAULT_CONTEXT_LENGTH = 77
SOT_TOKEN = "<start_of_text>"
EOT_TOKEN = "<end_of_text>"
END_OF_WORD = "</w>"
# The released vocabulary is 49408 = 256 bytes + 256 bytes-with-</w> + 48894 merges + 2 specials;
# the merge file holds more merges than that, which CLIP never used.
NUM_MERGES = 49152 - 256 - 2


@functools.lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """Map every byte to a printable unicode character so BPE never sees whitespace/control bytes.

    Printable Latin-1 bytes map to themselves; the remaining ones are shifted to code points 256+.
    The order of this mapping defines ids 0..255 of the vocabulary.
    """
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    byte_values = list(printable)
    code_points = list(printable)
    shift = 0
    for b in range(256):
        if b not in printable:
            byte_values.append(b)
            code_points.append(256 + shift)
            shift += 1
    return dict(zip(byte_values, (chr(c) for c in code_points)))


def clean_text(text: str) -> str:
    """OpenCLIP's 'lower' cleaning: fix mojibake, unescape HTML twice, collapse whitespace, lower-case."""
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return regex.sub(r"\s+", " ", text).strip().lower()


def _adjacent_pairs(word: Sequence[str]) -> set[tuple[str, str]]:
    return {(word[i], word[i + 1]) for i in range(len(word) - 1)}


class ClipTokenizer:
    """Byte-level BPE tokenizer with the CLIP vocabulary (49408 ids, SOT 49406, EOT 49407)."""

    def __init__(self, vocab_path: str | Path | None = None, context_length: int = DEFAULT_CONTEXT_LENGTH):
        vocab_path = Path(vocab_path) if vocab_path is not None else DEFAULT_VOCAB_PATH
        if not vocab_path.is_file():
            raise FileNotFoundError(
                f"CLIP BPE vocabulary not found at {vocab_path}; it ships as unitok/assets/"
                "bpe_simple_vocab_16e6.txt.gz (check that package data was installed)")
        if context_length < 2:
            raise ValueError(f"context_length must be >= 2 to hold SOT and EOT, got {context_length}")
        self.context_length = context_length

        lines = gzip.open(vocab_path, "rt", encoding="utf-8").read().split("\n")
        # Line 0 is a version header.
        merges = [tuple(line.split()) for line in lines[1:NUM_MERGES + 1]]
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {char: byte for byte, char in self.byte_encoder.items()}

        vocab = list(self.byte_encoder.values())
        vocab += [symbol + END_OF_WORD for symbol in vocab]
        vocab += ["".join(pair) for pair in merges]
        vocab += [SOT_TOKEN, EOT_TOKEN]
        self.encoder = {token: idx for idx, token in enumerate(vocab)}
        self.decoder = {idx: token for token, idx in self.encoder.items()}
        self.bpe_ranks = {pair: rank for rank, pair in enumerate(merges)}
        self.sot_token_id = self.encoder[SOT_TOKEN]
        self.eot_token_id = self.encoder[EOT_TOKEN]
        self.vocab_size = len(vocab)
        # Special tokens written literally in the text are kept whole, as OpenCLIP does.
        self._cache = {SOT_TOKEN: SOT_TOKEN, EOT_TOKEN: EOT_TOKEN}
        self._pattern = regex.compile(
            rf"{SOT_TOKEN}|{EOT_TOKEN}|'s|'t|'re|'ve|'m|'ll|'d|[\p{{L}}]+|[\p{{N}}]|[^\s\p{{L}}\p{{N}}]+",
            regex.IGNORECASE)

    def bpe(self, token: str) -> str:
        """Merge the characters of one pre-token greedily by merge rank; returns space-separated symbols."""
        if token in self._cache:
            return self._cache[token]
        word = tuple(token[:-1]) + (token[-1] + END_OF_WORD,)
        pairs = _adjacent_pairs(word)
        while pairs:
            best = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if best not in self.bpe_ranks:
                break
            first, second = best
            merged: list[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
            if len(word) == 1:
                break
            pairs = _adjacent_pairs(word)
        result = " ".join(word)
        self._cache[token] = result
        return result

    def encode(self, text: str) -> list[int]:
        """Token ids of one text, without SOT/EOT."""
        if not isinstance(text, str):
            raise ValueError(f"encode expects a str, got {type(text).__name__}")
        ids: list[int] = []
        for piece in self._pattern.findall(clean_text(text)):
            mapped = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[symbol] for symbol in self.bpe(mapped).split(" "))
        return ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """Text of a sequence of ids; word ends become spaces, so punctuation comes back space-separated.

        With skip_special_tokens, SOT is dropped and everything from the first EOT on (the zero
        padding of `tokenize`, which is the id of '!') is ignored.
        """
        ids = [int(i) for i in ids]
        if skip_special_tokens:
            if self.eot_token_id in ids:
                ids = ids[:ids.index(self.eot_token_id)]
            ids = [i for i in ids if i != self.sot_token_id]
        unknown = [i for i in ids if i not in self.decoder]
        if unknown:
            raise ValueError(f"ids outside the vocabulary of {self.vocab_size}: {unknown[:5]}")
        # Special-token strings are plain printable ASCII, so they survive the byte mapping as text.
        text = "".join(self.decoder[i] for i in ids)
        raw = bytearray(self.byte_decoder[ch] for ch in text)
        decoded = raw.decode("utf-8", errors="replace").replace(END_OF_WORD, " ")
        return decoded.strip() if skip_special_tokens else decoded

    def __call__(self, texts: str | Sequence[str], context_length: int | None = None) -> torch.LongTensor:
        """Ids of a batch, shape (N, context_length): SOT + ids + EOT, zero padded.

        Too long sequences are cut to context_length with EOT forced into the last slot, because
        the text tower pools the feature at the EOT position (argmax of the ids).
        """
        if isinstance(texts, str):
            texts = [texts]
        context_length = self.context_length if context_length is None else context_length
        if context_length < 2:
            raise ValueError(f"context_length must be >= 2 to hold SOT and EOT, got {context_length}")
        result = torch.zeros(len(texts), context_length, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = [self.sot_token_id] + self.encode(text) + [self.eot_token_id]
            if len(ids) > context_length:
                ids = ids[:context_length]
                ids[-1] = self.eot_token_id
            result[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        return result


@functools.lru_cache(maxsize=1)
def default_tokenizer() -> ClipTokenizer:
    """The shared tokenizer over the bundled vocabulary (loading the merges takes ~0.3 s)."""
    return ClipTokenizer()


def tokenize(texts: str | Sequence[str], context_length: int = DEFAULT_CONTEXT_LENGTH) -> torch.LongTensor:
    """Drop-in equivalent of `open_clip.tokenize`: LongTensor (N, context_length)."""
    return default_tokenizer()(texts, context_length=context_length)

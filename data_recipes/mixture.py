"""Weighted mixture of pre-tokenized sources: deterministic, resumable, rank- and worker-sharded.

Everything is a pure function of (seed, global step): the source of step s comes from a block of
pre-drawn choices (block s // BLOCK, seeded [seed, block]); the row is the next one of that
source's per-epoch permutation, found by counting earlier choices. So `state_dict()` is just the
step, resuming needs no replayed data, and every rank agrees on the stream without talking:
rank r yields steps r, r + W, ... and DataLoader worker w of N takes every N-th of those, which
the DataLoader's round-robin turns back into the rank's order.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from data_recipes.recipe import Recipe
from data_recipes.sample_builder import build_sample
from data_recipes.sequences import TokenizedSample
from mllm.token_layout import TokenLayout
from data_recipes.shards import PretokenizedSource

BLOCK = 4096


def _rank_world(rank: Optional[int], world_size: Optional[int]) -> tuple[int, int]:
    if rank is not None and world_size is not None:
        return rank, world_size
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


class MixtureDataset(IterableDataset):
    def __init__(self, recipe: Recipe, pretokenized_dir: Path, tokenizer, num_samples: Optional[int] = None,
                 rank: Optional[int] = None, world_size: Optional[int] = None, seed: Optional[int] = None,
                 layout: Optional[TokenLayout] = None):
        """num_samples: global stream length (None: endless; sources repeat in new permutations).
        layout: the model's special tokens (default: the official Llama-2 layout)."""
        self.recipe, self.tokenizer, self.num_samples = recipe, tokenizer, num_samples
        self.layout = layout or TokenLayout()
        self.seed = recipe.seed if seed is None else seed
        self.rank, self.world_size = _rank_world(rank, world_size)
        self.sources = [PretokenizedSource(Path(pretokenized_dir) / s.name) for s in recipe.sources]
        weights = np.array([s.weight for s in recipe.sources], dtype=np.float64)
        self.probabilities = weights / weights.sum()
        self.start_step = 0
        self.consumed = 0   # samples yielded by this (main-process) iterator since start_step
        self._count_cache = {0: np.zeros(len(self.sources), dtype=np.int64)}

    # ---------------------------------------------------------------- the stream as a function
    @lru_cache(maxsize=4)
    def _choices(self, block: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, block])
        return rng.choice(len(self.sources), size=BLOCK, p=self.probabilities)

    @lru_cache(maxsize=64)
    def _permutation(self, source: int, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, source, epoch]).permutation(len(self.sources[source]))

    def _counts_before(self, block: int) -> np.ndarray:
        """Choices per source in blocks [0, block): where each source's cursor starts. Computed
        forward from the nearest cached block, so a long run costs one bincount per block."""
        start = max(b for b in self._count_cache if b <= block)
        counts = self._count_cache[start].copy()
        for b in range(start, block):
            counts += np.bincount(self._choices(b), minlength=len(self.sources))
        if len(self._count_cache) > 16:
            self._count_cache = {0: self._count_cache[0]}
        self._count_cache[block] = counts
        return counts

    def locate(self, step: int) -> tuple[int, int]:
        """(source index, row index) of a global step."""
        block, offset = divmod(step, BLOCK)
        choices = self._choices(block)
        source = int(choices[offset])
        seen = int(self._counts_before(block)[source] + np.count_nonzero(choices[:offset] == source))
        epoch, position = divmod(seen, len(self.sources[source]))
        return source, int(self._permutation(source, epoch)[position])

    def sample_at(self, step: int) -> TokenizedSample:
        source, row = self.locate(step)
        record = self.sources[source].record(row)
        rng = np.random.default_rng([self.seed, step, 1])   # caption / unconditional / T2I-ratio draws
        return build_sample(record, self.tokenizer, self.recipe.sources[source].options, rng,
                            self.recipe.max_length, self.layout)

    # ---------------------------------------------------------------- iteration and resume
    def _my_steps(self) -> Iterator[int]:
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        first = self.start_step + self.rank
        # A rank's k-th step is first + k * W; worker w of N takes k = w, w + N, ...
        step = first + worker * self.world_size
        while self.num_samples is None or step < self.num_samples:
            yield step
            step += workers * self.world_size

    def __iter__(self) -> Iterator[TokenizedSample]:
        self.consumed = 0
        for step in self._my_steps():
            sample = self.sample_at(step)
            self.consumed += 1
            yield sample

    def state_dict(self, consumed: Optional[int] = None) -> dict:
        """Position after this rank consumed `consumed` samples (default: what this object's own
        iterator yielded). With DataLoader workers or prefetching, pass the count the trainer
        actually used: the copies inside workers are invisible here."""
        consumed = self.consumed if consumed is None else consumed
        # Ranks consume in lock-step, so this is one global boundary: every rank stores the same
        # value and a resume may even use another world size.
        return {"next_step": self.start_step + consumed * self.world_size,
                "seed": self.seed, "sources": [s.name for s in self.recipe.sources]}

    def load_state_dict(self, state: dict) -> None:
        names = [s.name for s in self.recipe.sources]
        if state["seed"] != self.seed or state["sources"] != names:
            raise ValueError(f"data state is for seed {state['seed']} and sources {state['sources']}, "
                             f"this mixture has seed {self.seed} and sources {names}")
        self.start_step = int(state["next_step"])

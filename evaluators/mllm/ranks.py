"""Splitting questions over the processes of torchrun / deepspeed (RANK, WORLD_SIZE)."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RankInfo:
    rank: int = 0
    world_size: int = 1

    @classmethod
    def from_env(cls) -> "RankInfo":
        rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
        if not 0 <= rank < world:
            raise ValueError(f"RANK={rank} is outside WORLD_SIZE={world}")
        return cls(rank, world)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: Sequence[T]) -> list[T]:
        # Interleaved so every rank gets a similar mix of (possibly sorted-by-length) questions.
        return list(items[self.rank::self.world_size])


def wait_until(condition: Callable[[], bool], timeout_s: float, poll_s: float = 5.0) -> bool:
    """Rank 0 waits for the other ranks through the files they write: no process group is
    needed, and a rank that died leaves its answers for a rerun instead of hanging a collective."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
    return True

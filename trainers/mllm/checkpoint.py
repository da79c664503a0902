"""DeepSpeed checkpoints in out/checkpoints/step-N, and resume from the latest COMPLETE one.

A checkpoint counts as complete only once every rank has written its shards and rank 0 has then
written a `COMPLETE` marker (holding the step and data state), so a run killed mid-save resumes
from the previous checkpoint instead of a torn one.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Optional

import torch.distributed as dist

MARKER = "COMPLETE"
_TAG = re.compile(r"^step-(\d+)$")


def checkpoint_dir(out: str | Path) -> Path:
    return Path(out) / "checkpoints"


def complete_checkpoints(out: str | Path) -> list[tuple[int, Path]]:
    root = checkpoint_dir(out)
    found = []
    for path in root.glob("step-*") if root.exists() else []:
        match = _TAG.match(path.name)
        if match and (path / MARKER).exists():
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest_complete(out: str | Path) -> Optional[tuple[int, Path]]:
    found = complete_checkpoints(out)
    return found[-1] if found else None


def save(engine, out: str | Path, step: int, client_state: dict, keep: int, rank: int) -> Path:
    """Collective: every rank calls it. `step` = optimizer steps done."""
    root = checkpoint_dir(out)
    tag = f"step-{step}"
    engine.save_checkpoint(str(root), tag=tag, client_state=client_state)
    dist.barrier()
    path = root / tag
    if rank == 0:
        (path / MARKER).write_text(json.dumps({"step": step, **client_state}))
        for _, old in complete_checkpoints(out)[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
    dist.barrier()
    return path


def load_latest(engine, out: str | Path) -> Optional[dict]:
    """Load the latest complete checkpoint into the engine (model, optimizer, scheduler);
    returns its client state or None when there is none."""
    latest = latest_complete(out)
    if latest is None:
        return None
    step, path = latest
    _, client_state = engine.load_checkpoint(str(path.parent), tag=path.name, load_optimizer_states=True,
                                             load_lr_scheduler_states=True)
    if client_state is None:
        raise RuntimeError(f"{path}: DeepSpeed could not load this checkpoint")
    return client_state

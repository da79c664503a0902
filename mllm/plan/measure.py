"""Measuring what the plan predicts, on any device: the peak of live tensor bytes during a real
training step (counted per storage by a dispatch mode, so the CPU can stand in for a GPU: what is
counted is what a GPU's caching allocator would have to hold, fragmentation aside)."""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Iterable, Optional

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class LiveTensorBytes(TorchDispatchMode):
    """Bytes of the tensor storages alive now (`current`) and at most so far (`peak`): every
    storage an op creates inside the mode, plus those registered with `track`."""

    def __init__(self):
        super().__init__()
        self.current = 0
        self.peak = 0
        self._alive: set = set()

    def track(self, tensors: Iterable[torch.Tensor]) -> int:
        """Count tensors created before the mode (weights); returns their new bytes."""
        before = self.current
        for tensor in tensors:
            self._add(tensor)
        return self.current - before

    def reset_peak(self) -> None:
        self.peak = self.current

    def _add(self, tensor: torch.Tensor) -> None:
        if tensor.device.type == "meta":
            return
        storage = tensor.untyped_storage()
        key = storage._cdata
        if key in self._alive:
            return
        size = storage.nbytes()
        self._alive.add(key)
        self.current += size
        self.peak = max(self.peak, self.current)
        weakref.finalize(storage, self._release, key, size)

    def _release(self, key, size: int) -> None:
        self._alive.discard(key)
        self.current -= size

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for item in tree_flatten(out)[0]:
            if isinstance(item, torch.Tensor):
                self._add(item)
        return out


def synthetic_training_batch(config, rows: int, seq: int, images: int = 1, generated: int = 1,
                             device=None, seed: int = 0) -> dict:
    """`rows` rows of `seq` positions after image expansion: random text with `images` images per
    row (placeholders after the first tokens), the first `generated` of them generation targets."""
    if generated > images:
        raise ValueError("generated images cannot exceed images")
    positions = config.image_positions
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, min(config.vocab_size, 1000), (rows, seq - images * (positions - 1)), generator=generator)
    labels = ids.clone()
    labels[:, :4] = -100
    for i in range(images):
        ids[:, 6 + 2 * i] = -200
        labels[:, 6 + 2 * i] = -200 if i < generated else -100
    codes = (torch.randint(0, config.codebook_size, (rows * images, config.num_codebooks, positions),
                           generator=generator) if images else None)
    batch = dict(input_ids=ids, labels=labels, image_codes=codes, attention_mask=torch.ones_like(ids))
    return {k: v.to(device) if isinstance(v, torch.Tensor) and device is not None else v for k, v in batch.items()}


@dataclass
class MeasuredStep:
    weights: int            # parameter and buffer bytes
    optimizer: int          # optimizer state bytes (after the first step)
    activations: int        # live bytes added by the forward pass (what backward keeps)
    peak: int               # largest live bytes during a steady-state step (forward, backward, update)

    @property
    def peak_activations(self) -> int:
        """Peak above weights and optimizer states: activations, backward transients and gradients."""
        return self.peak - self.weights - self.optimizer


def measure_training_step(model: torch.nn.Module, batch: dict, steps: int = 2,
                          optimizer: Optional[torch.optim.Optimizer] = None) -> MeasuredStep:
    """Run `steps` AdamW steps (gradients set to None between steps, as DeepSpeed frees them) and
    measure the last one; the first step creates the optimizer states."""
    if steps < 2:
        raise ValueError("measure at least 2 steps: the first one allocates the optimizer states")
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = optimizer or torch.optim.AdamW(params, lr=1e-5)
    mode = LiveTensorBytes()
    with mode:
        weights = mode.track(list(model.parameters()) + list(model.buffers()))
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            before = mode.current
            mode.reset_peak()
            outputs = model(**batch)
            activations = mode.current - before
            outputs.loss.backward()
            del outputs
            optimizer.step()
        state = sum(t.untyped_storage().nbytes() for s in optimizer.state.values() for t in s.values()
                    if isinstance(t, torch.Tensor) and t.numel() > 1)
        optimizer.zero_grad(set_to_none=True)
    return MeasuredStep(weights=weights, optimizer=state, activations=activations, peak=mode.peak)

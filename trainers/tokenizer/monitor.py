"""Run outputs on the main rank: metrics.jsonl, TensorBoard scalars (when installed) and PNG grids
of originals above reconstructions."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional

import torch
from PIL import Image

from unitok.processing import tensor_to_pil


class Monitor:
    def __init__(self, output_dir: Path, enabled: bool, resume_step: int = 0):
        self.dir, self.enabled = Path(output_dir), enabled
        self.tb = None
        if not enabled:
            return
        (self.dir / "grids").mkdir(parents=True, exist_ok=True)
        self.metrics_path = self.dir / "metrics.jsonl"
        self._truncate_after(resume_step)
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(str(self.dir / "tensorboard"), purge_step=resume_step + 1 if resume_step else None)
        except ImportError:
            print("[monitor] tensorboard not installed: metrics.jsonl only")

    def _truncate_after(self, step: int) -> None:
        """On resume, drop lines of steps after the checkpoint (they will be trained again)."""
        if not self.metrics_path.exists():
            return
        kept = [line for line in self.metrics_path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= step]
        self.metrics_path.write_text("".join(line + "\n" for line in kept))

    def log(self, step: int, values: Dict[str, float]) -> None:
        if not self.enabled:
            return
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps({"step": step, **values}) + "\n")
        if self.tb is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)):
                    self.tb.add_scalar(key, value, step)

    def grid(self, step: int, originals: torch.Tensor, reconstructions: torch.Tensor) -> Optional[Path]:
        if not self.enabled:
            return None
        path = self.dir / "grids" / f"step{step:08d}.png"
        save_grid(originals, reconstructions, path)
        return path

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def save_grid(originals: torch.Tensor, reconstructions: torch.Tensor, path: Path) -> None:
    """Two rows: originals on top, reconstructions below (images in [-1, 1])."""
    top, bottom = tensor_to_pil(originals), tensor_to_pil(reconstructions.clamp(-1, 1))
    w, h = top[0].size
    canvas = Image.new("RGB", (w * len(top), 2 * h), (255, 255, 255))
    for i, (a, b) in enumerate(zip(top, bottom)):
        canvas.paste(a, (i * w, 0))
        canvas.paste(b, (i * w, h))
    canvas.save(path)

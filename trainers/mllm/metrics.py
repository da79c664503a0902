"""Training metrics: FLOPs of the MLLM (LLM + depth head), MFU, and the console / metrics.jsonl /
TensorBoard logger (rank 0 only)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import torch

from mllm.flops import FlopCounter  # noqa: F401  (re-exported: the trainer and benchmarks count with it)

# Dense bf16 tensor-core peaks (FLOP/s) by device-name fragment.
GPU_PEAKS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12, "4090": 165e12}


def measured_cpu_peak(size: int = 1024, seconds: float = 0.3) -> float:
    """fp32 matmul FLOP/s of this process on this CPU (best of repeated size^3 matmuls)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.matmul(a, b)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        torch.matmul(a, b)
        best = max(best, 2 * size ** 3 / (time.perf_counter() - t))
    return best


def device_peak(device: torch.device, override_tflops: Optional[float] = None) -> float:
    if override_tflops:
        return override_tflops * 1e12
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, peak in GPU_PEAKS.items():
            if key in name:
                return peak
        return 100e12
    return measured_cpu_peak()


class MetricsLogger:
    """Console line + metrics.jsonl (appended, so a resumed run continues the file) + TensorBoard."""

    def __init__(self, out: str | Path, enabled: bool):
        self.enabled = enabled
        self.path = Path(out) / "metrics.jsonl"
        self.tb = None
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                from torch.utils.tensorboard import SummaryWriter
                self.tb = SummaryWriter(str(Path(out) / "tensorboard"))
            except ImportError:
                self.tb = None

    def log(self, record: dict) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for k, v in record.items():
                if isinstance(v, (int, float)) and k != "step":
                    self.tb.add_scalar(f"train/{k}", v, record["step"])
        print(f"step {record['step']:>5} | loss {record['loss']:.4f} | text {record['text_loss']:.4f} | "
              f"image {record['image_loss']:.4f} | lr {record['lr']:.2e} | {record['tokens_per_s']:.0f} tok/s | "
              f"MFU {100 * record['mfu']:.2f}%", flush=True)
        held_out = {k.split("/", 1)[1]: v for k, v in record.items() if k.startswith("eval/")}
        if held_out:
            print("       held-out | " + ", ".join(f"{k} {v:.2f}" for k, v in held_out.items()), flush=True)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def read_metrics(path: str | Path) -> list[dict]:
    """Training records of a metrics.jsonl; for steps logged twice (a run resumed from an earlier
    checkpoint), the later record wins. Measurement records (text_ppl) are left out: see
    `read_measurements`."""
    by_step = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            if "loss" in record:
                by_step[record["step"]] = record
    return [by_step[s] for s in sorted(by_step)]


def read_measurements(path: str | Path, key: str) -> list[dict]:
    """The records of a metrics.jsonl holding `key` (e.g. "text_ppl"), in file order."""
    lines = Path(path).read_text().splitlines()
    return [r for r in (json.loads(line) for line in lines if line.strip()) if key in r]

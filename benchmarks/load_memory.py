"""Peak resident memory while loading a pipeline (MLLM + UniTok) in a dtype, against the bytes of
the weights it ends up holding: a ratio near 1 means no full-precision copy was materialised.

    python benchmarks/load_memory.py --model MLLM_DIR --unitok UNITOK --dtype bfloat16 [--json out.json]

Everything is imported first; the kernel's peak-RSS counter (VmHWM) is then reset, the pipeline
loads, and the growth of the peak over the resident size before loading is reported, twice: right
after loading (safetensors weights of the target dtype stay memory-mapped, paged in on first use)
and after every weight page has been read once (what a first forward pass would do).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import transformers  # noqa: E402,F401

import mllm  # noqa: E402,F401
from mllm.pipeline import UnifiedPipeline  # noqa: E402
from unitok import UniTok  # noqa: E402,F401


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")   # resets VmHWM to the current RSS (Linux)


def _weight_bytes(*modules: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for m in modules for t in list(m.parameters()) + list(m.buffers()))


def _touch(*modules: torch.nn.Module) -> None:
    """Read one element per 4 KiB page of every weight."""
    with torch.no_grad():
        for module in modules:
            for t in list(module.parameters()) + list(module.buffers()):
                t.detach().reshape(-1)[::max(1, 4096 // t.element_size())].sum()


class _AnonymousPeak(threading.Thread):
    """Samples RssAnon (memory not backed by a file) every few ms: mapped checkpoint pages are
    file-backed and reclaimable, a materialised copy of the weights is anonymous."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self._done = 0, threading.Event()

    def run(self):
        while not self._done.is_set():
            self.peak = max(self.peak, _status_kib("RssAnon") * 1024)
            time.sleep(0.002)

    def finish(self) -> int:
        self._done.set()
        self.join()
        return max(self.peak, _status_kib("RssAnon") * 1024)


def _measured(load) -> dict:
    gc.collect()
    _reset_peak()
    before, anon_before = _status_kib("VmRSS") * 1024, _status_kib("RssAnon") * 1024
    sampler = _AnonymousPeak()
    sampler.start()
    modules = load()
    peak = _status_kib("VmHWM") * 1024
    _touch(*modules)
    touched = _status_kib("VmHWM") * 1024
    anon = sampler.finish() - anon_before
    weights = _weight_bytes(*modules)
    return {"weight_bytes": weights, "peak_growth": peak - before, "ratio": (peak - before) / weights,
            "peak_growth_after_use": touched - before, "ratio_after_use": (touched - before) / weights,
            "anonymous_peak_growth": anon, "anonymous_ratio": anon / weights, "dtype": str(modules[0].dtype)}


def measure(model: str, unitok: str, dtype: str, device: str = "cpu") -> dict:
    """The MLLM alone (AutoModelForCausalLM, as the pipeline loads it), then the whole pipeline."""
    from transformers import AutoModelForCausalLM

    from unitok.devices import resolve_dtype

    mllm_only = _measured(lambda: [AutoModelForCausalLM.from_pretrained(model, dtype=resolve_dtype(dtype),
                                                                        device_map={"": device})])
    gc.collect()
    pipeline = _measured(lambda: (lambda p: [p.model, p.unitok])(
        UnifiedPipeline.from_pretrained(model, unitok_path=unitok, device=device, dtype=dtype)))
    return {"model": model, "unitok": unitok, "dtype": dtype, "mllm": mllm_only, "pipeline": pipeline,
            "load_average": os.getloadavg()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--unitok", required=True)
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    result = measure(args.model, args.unitok, args.dtype)
    mib = 1024 ** 2
    print(f"loading in {args.dtype} (load average {result['load_average'][0]:.2f})")
    print("peak RSS growth over the RSS before loading, as a multiple of the loaded weights' bytes: right after "
          "loading, after reading every weight once, and of anonymous (not file-backed) memory")
    print(f"{'what':>9} {'weights MiB':>12} {'loaded':>8} {'after use':>10} {'anonymous':>10}")
    for what in ("mllm", "pipeline"):
        r = result[what]
        print(f"{what:>9} {r['weight_bytes'] / mib:>12.1f} {r['ratio']:>7.2f}x {r['ratio_after_use']:>9.2f}x "
              f"{r['anonymous_ratio']:>9.2f}x")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""UniTok encode / decode throughput: today's path against the previous one, side by side.

    python benchmarks/tokenizer_speed.py --presets base --batch-size 8 --reps 5 [--variants channels_last bf16 compiled]
    python benchmarks/tokenizer_speed.py --memory-table --presets tiny small --batch-size 4

Default (comparison): for each preset, `img_to_idx` and `idx_to_img` run in interleaved
repetitions (previous, eager, channels-last, bf16[, compiled], ... again) on the same inputs:
- previous: the code before issue 12, frozen in benchmarks/reference_tokenizer.py;
- eager: the current fp32 code; channels_last: the same with NHWC weights and inputs;
- bf16: `UniTok.cast(torch.bfloat16)` (the code path stays fp32);
- compiled (--variants compiled): torch.compile of the encoder and decoder modules.
It prints median and minimum seconds, images/s, the ratio to the previous path, code agreement
with the previous path (encode) or the largest pixel difference (decode), and writes a JSON file.

--memory-table is the older per-operation table with peak memory:
Models are random-init (speed does not depend on the weights). CPU peak memory is the peak
resident set size sampled by a background thread (psutil) minus the RSS before the call:
tracemalloc does not see torch's allocator, and ru_maxrss is a process-lifetime maximum that
cannot go down between measurements (it is the fallback without psutil). Before each measurement
glibc's malloc_trim hands freed heap pages back to the OS, otherwise memory freed by the
previous call still counts in the baseline RSS and the peak delta reads near zero. On CUDA the peak is
torch.cuda.max_memory_allocated above the memory allocated before the call.
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from unitok import UniTok, UniTokConfig  # noqa: E402

try:
    import psutil
except ImportError:  # optional: fall back to ru_maxrss deltas
    psutil = None

MIB = 2 ** 20
RSS_POLL_SECONDS = 0.002


def release_freed_memory() -> None:
    """Return free heap pages to the OS (glibc only; a no-op elsewhere) so RSS tracks live memory."""
    gc.collect()
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        libc = ctypes.CDLL(libc_name)
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)


class PeakMemory:
    """Context manager measuring the extra memory at the peak of a block on `device`."""

    def __init__(self, device: torch.device):
        self.device = device
        self.peak_bytes = 0

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        elif psutil is not None:
            release_freed_memory()
            self._process = psutil.Process(os.getpid())
            self._base = self._process.memory_info().rss
            self._max = self._base
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        else:
            self._base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return self

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._max = max(self._max, self._process.memory_info().rss)
            time.sleep(RSS_POLL_SECONDS)

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device) - self._base
        elif psutil is not None:
            self._stop.set()
            self._thread.join()
            self._max = max(self._max, self._process.memory_info().rss)
            self.peak_bytes = self._max - self._base
        else:
            self.peak_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self._base


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(fn: Callable[[], object], device: torch.device, warmup: int, iters: int) -> tuple[float, float]:
    """(median seconds per call, peak extra MiB over the timed calls)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    with PeakMemory(device) as memory:
        for _ in range(iters):
            start = time.perf_counter()
            fn()
            _sync(device)
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2], memory.peak_bytes / MIB


def benchmark_preset(preset: str, device: torch.device, batch_size: int, size: int, warmup: int,
                     iters: int) -> list[dict]:
    torch.manual_seed(0)
    model = UniTok(UniTokConfig.from_preset(preset)).to(device).eval()
    params = sum(p.numel() for p in model.parameters()) / 1e6
    images = torch.rand(batch_size, 3, size, size, device=device) * 2 - 1
    with torch.inference_mode():
        codes = model.img_to_idx(images)
        operations = {
            "img_to_idx": lambda: model.img_to_idx(images),
            "idx_to_img": lambda: model.idx_to_img(codes),
            "reconstruct (idx round trip)": lambda: model.idx_to_img(model.img_to_idx(images)),
            "img_to_reconstructed_img": lambda: model.img_to_reconstructed_img(images),
        }
        rows = []
        for name, fn in operations.items():
            seconds, peak_mib = measure(fn, device, warmup, iters)
            rows.append(dict(preset=preset, device=device.type, params=params, batch=batch_size, size=size, op=name,
                             images_per_s=batch_size / seconds, ms_per_batch=seconds * 1e3, peak_mib=peak_mib))
    del model
    return rows


def markdown_table(rows: list[dict]) -> str:
    lines = ["| preset | device | params (M) | batch | size | operation | images/s | ms/batch | peak extra mem (MiB) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['preset']} | {r['device']} | {r['params']:.1f} | {r['batch']} | {r['size']} | {r['op']} "
                     f"| {r['images_per_s']:.2f} | {r['ms_per_batch']:.0f} | {r['peak_mib']:.0f} |")
    return "\n".join(lines)


VARIANTS = ("previous", "eager", "channels_last", "bf16", "compiled")


def compare_preset(preset: str, batch_size: int, size: int, reps: int, wanted) -> list[dict]:
    import copy
    import statistics

    from reference_tokenizer import reference_idx_to_img, reference_img_to_idx

    torch.manual_seed(0)
    model = UniTok(UniTokConfig.from_preset(preset)).eval()
    params = sum(p.numel() for p in model.parameters()) / 1e6
    images = torch.rand(batch_size, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    variants = {"previous": (lambda: reference_img_to_idx(model, images), lambda c: reference_idx_to_img(model, c)),
                "eager": (lambda: model.img_to_idx(images), model.idx_to_img)}
    if "channels_last" in wanted:
        channels_last = copy.deepcopy(model).to(memory_format=torch.channels_last)
        images_cl = images.contiguous(memory_format=torch.channels_last)
        variants["channels_last"] = (lambda: channels_last.img_to_idx(images_cl), channels_last.idx_to_img)
    if "bf16" in wanted:
        bf16 = copy.deepcopy(model).cast(torch.bfloat16)
        variants["bf16"] = (lambda: bf16.img_to_idx(images), bf16.idx_to_img)
    if "compiled" in wanted:
        compiled = copy.deepcopy(model)
        compiled.encoder = torch.compile(compiled.encoder)
        compiled.decoder = torch.compile(compiled.decoder)
        variants["compiled"] = (lambda: compiled.img_to_idx(images), compiled.idx_to_img)
    rows = []
    with torch.inference_mode():
        codes = reference_img_to_idx(model, images)
        for op in ("img_to_idx", "idx_to_img"):
            calls = {name: (enc if op == "img_to_idx" else (lambda d=dec: d(codes))) for name, (enc, dec) in variants.items()}
            outputs = {name: fn() for name, fn in calls.items()}   # warm-up (and compilation)
            times = {name: [] for name in calls}
            for _ in range(reps):
                for name, fn in calls.items():
                    start = time.perf_counter()
                    outputs[name] = fn()
                    times[name].append(time.perf_counter() - start)
            base = statistics.median(times["previous"])
            for name, seconds in times.items():
                median = statistics.median(seconds)
                if op == "img_to_idx":
                    agreement = f"{(outputs[name] == outputs['previous']).float().mean().item() * 100:.3f}% codes equal"
                else:
                    agreement = f"max |diff| {(outputs[name].float() - outputs['previous']).abs().max().item():.2e}"
                rows.append(dict(preset=preset, params=params, batch=batch_size, op=op, variant=name, median_s=median,
                                 min_s=min(seconds), images_per_s=batch_size / median, vs_previous=base / median,
                                 agreement=agreement))
                print(json.dumps(rows[-1]), flush=True)
    return rows


def compare_table(rows: list[dict]) -> str:
    lines = ["| preset | params (M) | batch | operation | variant | median s | min s | images/s | vs previous | "
             "agreement with previous |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['preset']} | {r['params']:.0f} | {r['batch']} | {r['op']} | {r['variant']} | "
                     f"{r['median_s']:.2f} | {r['min_s']:.2f} | {r['images_per_s']:.2f} | {r['vs_previous']:.2f}x | "
                     f"{r['agreement']} |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["base"], choices=["tiny", "small", "base", "large"])
    parser.add_argument("--memory-table", action="store_true", help="the per-operation table with peak memory")
    parser.add_argument("--reps", type=int, default=5, help="comparison: interleaved repetitions")
    parser.add_argument("--variants", nargs="*", default=["channels_last", "bf16"], choices=VARIANTS[2:],
                        help="comparison: variants besides previous and eager (compiled: torch.compile)")
    parser.add_argument("--json", type=Path, default=Path("tokenizer_speed.json"))
    parser.add_argument("--devices", nargs="+", default=None,
                        help="torch devices (default: cpu, plus cuda when available)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--size", type=int, default=256, help="square input size, a multiple of 16")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iters", type=int, default=3, help="timed calls per operation (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for the CPU runs")
    args = parser.parse_args(argv)
    if args.size % 16 or args.size <= 0:
        parser.error(f"--size must be a positive multiple of 16, got {args.size}")
    if args.batch_size <= 0 or args.iters <= 0 or args.warmup < 0:
        parser.error("--batch-size and --iters must be positive, --warmup non-negative")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.memory_table:
        rows = [row for preset in args.presets
                for row in compare_preset(preset, args.batch_size, args.size, args.reps, args.variants)]
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        header = (f"UniTok on CPU, {args.size}x{args.size}, torch {torch.__version__}, {torch.get_num_threads()} "
                  f"thread(s), {args.reps} interleaved reps, load average at the end {load}")
        table = compare_table(rows)
        print(f"\n{header}\n\n{table}")
        args.json.write_text(json.dumps(dict(header=header, rows=rows, table=table), indent=1))
        print(f"\nwrote {args.json}")
        return
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    jobs = [(preset, torch.device(device)) for device in devices for preset in args.presets]
    rows = []
    for preset, device in tqdm(jobs, desc="benchmark", unit="model", file=sys.stderr):
        rows.extend(benchmark_preset(preset, device, args.batch_size, args.size, args.warmup, args.iters))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, load average {load}, "
          f"{'psutil RSS sampling' if psutil else 'ru_maxrss delta'} for CPU memory\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()

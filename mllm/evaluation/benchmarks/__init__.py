"""Benchmark layouts by name, as accepted by `eval/vqa.py --bench`."""
from __future__ import annotations

from mllm.evaluation.benchmarks.base import Benchmark, LayoutError, LoadedBenchmark
from mllm.evaluation.benchmarks.gqa import GQA
from mllm.evaluation.benchmarks.mme import MME
from mllm.evaluation.benchmarks.mmvet import MMVet
from mllm.evaluation.benchmarks.pope import POPE
from mllm.evaluation.benchmarks.textvqa import TextVQA
from mllm.evaluation.benchmarks.vqav2 import VQAv2

BENCHMARKS: dict[str, type[Benchmark]] = {
    cls.name: cls for cls in (GQA, VQAv2, TextVQA, POPE, MME, MMVet)}


def get_benchmark(name: str) -> Benchmark:
    try:
        return BENCHMARKS[name]()
    except KeyError:
        raise ValueError(f"unknown benchmark {name!r}; choose from {sorted(BENCHMARKS)}") from None


__all__ = ["BENCHMARKS", "Benchmark", "LayoutError", "LoadedBenchmark", "get_benchmark"]

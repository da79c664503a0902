"""Benchmark layouts by name, as accepted by `eval/vqa.py --bench`."""
from __future__ import annotations

from evaluators.mllm.benchmarks.base import Benchmark, LayoutError, LoadedBenchmark
from evaluators.mllm.benchmarks.gqa import GQA
from evaluators.mllm.benchmarks.mme import MME
from evaluators.mllm.benchmarks.mmvet import MMVet
from evaluators.mllm.benchmarks.pope import POPE
from evaluators.mllm.benchmarks.textvqa import TextVQA
from evaluators.mllm.benchmarks.vqav2 import VQAv2

BENCHMARKS: dict[str, type[Benchmark]] = {
    cls.name: cls for cls in (GQA, VQAv2, TextVQA, POPE, MME, MMVet)}


def get_benchmark(name: str) -> Benchmark:
    try:
        return BENCHMARKS[name]()
    except KeyError:
        raise ValueError(f"unknown benchmark {name!r}; choose from {sorted(BENCHMARKS)}") from None


__all__ = ["BENCHMARKS", "Benchmark", "LayoutError", "LoadedBenchmark", "get_benchmark"]

"""Understanding (VQA-style) and generation benchmarks for the unified MLLM.

Layouts: mllm.evaluation.benchmarks; scoring rules: mllm.evaluation.scoring; the resumable,
rank-sharded loop: mllm.evaluation.runner; image generation layouts and Frechet distance:
mllm.evaluation.generation.
"""

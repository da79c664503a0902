"""Understanding (VQA-style) and generation benchmarks for the unified MLLM.

Layouts: evaluators.mllm.benchmarks; scoring rules: evaluators.mllm.scoring; the resumable,
rank-sharded loop: evaluators.mllm.runner; image generation layouts and Frechet distance:
evaluators.mllm.generation.
"""

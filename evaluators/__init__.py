"""Evaluators: tokenizer metrics (`evaluators.tokenizer`) and MLLM benchmarks (`evaluators.mllm`).

Above `data_recipes` (they read evaluation data with its loaders) and below `trainers` (which score
held-out data while they train). The thin scripts in `eval/` call them.
"""

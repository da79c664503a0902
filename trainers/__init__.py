"""Trainers: the tokenizer trainer (`trainers.tokenizer`) and the DeepSpeed MLLM trainer (`trainers.mllm`).

The top floor of the library: trainers may import `evaluators`, `data_recipes`, `mllm` and `unitok`;
nothing of ours imports a trainer except the thin scripts in `train/`.
"""

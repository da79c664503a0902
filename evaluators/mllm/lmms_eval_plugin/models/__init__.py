"""Model table read by lmms-eval's plugin loader (see the package docstring)."""

AVAILABLE_MODELS = {"unitok_mllm": "UniTokMLLM"}

"""Model table for lmms-eval's deprecated LMMS_EVAL_PLUGINS route (the entry point is preferred)."""

AVAILABLE_MODELS = {"unitok_mllm": "UniTokMLLM"}

"""UniTok: a unified visual tokenizer for generation and understanding."""
from transformers import AutoConfig, AutoModel

from .config import UniTokConfig
from .model import UniTok
from .processing import UniTokImageProcessor
from .tokenizer import ClipTokenizer, tokenize

AutoConfig.register(UniTokConfig.model_type, UniTokConfig, exist_ok=True)
AutoModel.register(UniTokConfig, UniTok, exist_ok=True)

__all__ = ["UniTok", "UniTokConfig", "UniTokImageProcessor", "ClipTokenizer", "tokenize"]

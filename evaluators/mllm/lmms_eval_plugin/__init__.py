"""lmms-eval plugin for the UniTok MLLM.

lmms-eval (0.7) discovers external models through the entry-point group `lmms_eval.models`;
setup.cfg points it at `manifests` below, so after `pip install -e .`:

    python -m lmms_eval eval --model unitok_mllm \\
        --model_args pretrained=ckpt/,unitok=unitok_tokenizer.pth,dtype=auto --tasks gqa --batch_size 16

model_args: pretrained (MLLM folder), unitok (UniTok checkpoint; default <pretrained>/unitok),
tokenizer, device (auto = cuda:LOCAL_RANK or cpu), dtype (auto = bf16 on GPU, fp32 on CPU),
attn_implementation.
"""

MODEL_ID = "unitok_mllm"
CLASS_PATH = "evaluators.mllm.lmms_eval_plugin.models.unitok_mllm.UniTokMLLM"


def manifests():
    """The entry point's payload (called by lmms-eval's registry; imports lmms-eval lazily)."""
    from lmms_eval.models.registry_v2 import ModelManifest
    return [ModelManifest(model_id=MODEL_ID, simple_class_path=CLASS_PATH)]

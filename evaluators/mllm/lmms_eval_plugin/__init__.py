"""lmms-eval plugin for the UniTok MLLM.

lmms-eval finds out-of-tree models through the LMMS_EVAL_PLUGINS environment variable: for each
listed package it imports `<package>.models`, reads its AVAILABLE_MODELS {name: class name} and
loads the class from `<package>.models.<name>`. So:

    LMMS_EVAL_PLUGINS=evaluators.mllm.lmms_eval_plugin python -m lmms_eval --model unitok_mllm \\
        --model_args pretrained=ckpt/,unitok=unitok_tokenizer.pth --tasks gqa,pope --batch_size 1
"""

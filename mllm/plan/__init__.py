"""Memory and time planning for the unified MLLM (`python -m mllm.plan`): parameter counts on the
meta device, per-GPU memory of a training step under ZeRO / LoRA / checkpointing, FLOPs and time at
an MFU, and memory of evaluation and image generation. `measure` checks the figures on any device."""
from .activations import ActivationBytes, Workload, activation_bytes
from .estimate import InferencePlan, InferenceSetup, TrainPlan, TrainSetup, plan_inference, plan_training
from .sizes import ModelSizes, model_sizes

__all__ = ["ActivationBytes", "Workload", "activation_bytes", "InferencePlan", "InferenceSetup", "TrainPlan",
           "TrainSetup", "plan_inference", "plan_training", "ModelSizes", "model_sizes"]

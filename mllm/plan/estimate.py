"""Per-GPU memory and time of a training step, and memory of evaluation / image generation.

Training (mixed precision as DeepSpeed runs it with bf16: 16-bit weights and gradients, fp32
master weights and Adam moments = 12 bytes per trainable parameter; fp32 training: 4 + 4 + 8):
ZeRO-1 partitions the optimizer states over the GPUs, ZeRO-2 also the gradients, ZeRO-3 also the
weights; offloading moves optimizer states (and with ZeRO-3 the weights) to CPU memory. ZeRO-0 is
plain data parallelism, where full gradients build up while the activations are freed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..config import UniTokMLLMConfig
from ..flops import FlopCounter
from .activations import FP32, ActivationBytes, Workload, activation_bytes
from .sizes import ModelSizes, model_sizes

PRECISIONS = {"bf16": (2, 2, 12), "fp32": (4, 4, 8)}   # bytes per param: weights, grads, optimizer
OFFLOADS = ("none", "optimizer", "optimizer+params")


@dataclass
class TrainSetup:
    gpus: int = 8
    zero: int = 2
    offload: str = "none"
    micro_batch: int = 4
    seq: int = 2048                     # positions per row after image expansion
    images: int = 1                     # images embedded per row
    generated: int = 1                  # of those, generation targets (depth-head loss)
    image_positions: Optional[int] = None   # per image; default: the config's
    lora_rank: int = 0                  # > 0: LoRA on the LLM's linear layers, the LLM frozen
    gradient_checkpointing: bool = False
    precision: str = "bf16"
    train_llm: bool = True
    train_projection: bool = True
    train_projector: bool = True
    train_depth_head: bool = True
    bucket_elements: float = 5e7        # reduce / prefetch bucket of train/configs/zero*.json
    mfu: float = 0.4
    peak_tflops: float = 989.0          # per GPU, dense bf16 (H100 / H200)

    def __post_init__(self):
        if self.zero not in (0, 1, 2, 3):
            raise ValueError(f"zero must be 0, 1, 2 or 3, got {self.zero}")
        if self.offload not in OFFLOADS:
            raise ValueError(f"offload must be one of {OFFLOADS}, got {self.offload!r}")
        if self.offload == "optimizer+params" and self.zero != 3:
            raise ValueError("offloading parameters needs ZeRO-3")
        if self.offload != "none" and self.zero == 0:
            raise ValueError("offloading needs ZeRO-1 or higher")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {self.precision!r}")
        if self.gpus < 1 or self.micro_batch < 1 or self.seq < 1:
            raise ValueError("gpus, micro_batch and seq must be positive")


@dataclass
class TrainPlan:
    setup: TrainSetup
    sizes: ModelSizes
    parameters: int
    trainable: int
    weights: float              # bytes per GPU
    gradients: float
    optimizer: float
    zero_buffers: float
    activations: ActivationBytes
    cpu_offload: float          # bytes of host memory per GPU for offloaded states
    flops_per_step: float       # per GPU, one micro-batch (forward + backward)
    step_seconds: float         # per micro-batch at setup.mfu

    @property
    def peak(self) -> float:
        """Static memory plus whichever is larger at its moment: the activations at their peak or
        (without gradient partitioning) the full gradients at the end of backward."""
        full_grads = self.gradients if self.setup.zero < 2 else 0.0
        kept_grads = self.gradients - full_grads
        return self.weights + self.optimizer + self.zero_buffers + kept_grads + max(self.activations.peak, full_grads)


def plan_training(config: UniTokMLLMConfig, setup: TrainSetup, sizes: Optional[ModelSizes] = None) -> TrainPlan:
    sizes = sizes or model_sizes(config)
    w_bytes, g_bytes, o_bytes = PRECISIONS[setup.precision]
    n, zero = setup.gpus, setup.zero
    trainable = sizes.trainable(setup.train_llm, setup.train_projection, setup.train_projector,
                                setup.train_depth_head, setup.lora_rank)
    parameters = sizes.total + sizes.lora(setup.lora_rank)
    weights = w_bytes * parameters / (n if zero == 3 else 1)
    gradients = g_bytes * trainable / (n if zero >= 2 else 1)
    optimizer = o_bytes * trainable / (n if zero >= 1 else 1)
    cpu = 0.0
    if setup.offload != "none":
        cpu, optimizer = cpu + optimizer, 0.0
    if setup.offload == "optimizer+params":
        cpu, weights = cpu + weights, 0.0
    buffers = {0: 0, 1: 0, 2: 1, 3: 2}[zero] * setup.bucket_elements * g_bytes
    if zero == 3:   # a gathered layer is live while it computes
        buffers += w_bytes * sizes.largest_layer
    positions = setup.image_positions or config.image_positions
    work = Workload(setup.micro_batch, setup.seq, setup.images, setup.generated, positions)
    activations = activation_bytes(config, work, w_bytes, setup.gradient_checkpointing, g_bytes)
    flops = _step_flops(config, sizes, work, setup)
    seconds = flops / (setup.peak_tflops * 1e12 * setup.mfu)
    return TrainPlan(setup, sizes, parameters, trainable, weights, gradients, optimizer, buffers, activations, cpu,
                     flops, seconds)


def _step_flops(config: UniTokMLLMConfig, sizes: ModelSizes, work: Workload, setup: TrainSetup) -> float:
    """FlopCounter's count (3 x forward); recomputation under checkpointing adds one LLM forward."""
    from accelerate import init_empty_weights

    from ..model import UniTokMLLMForCausalLM
    with init_empty_weights():
        counter = FlopCounter(UniTokMLLMForCausalLM(config))
    flops = counter.step_flops([work.seq] * work.rows, work.rows * work.images * work.image_positions,
                               work.rows * work.generated * work.image_positions)
    if setup.gradient_checkpointing:
        flops *= 4 / 3
    return flops


@dataclass
class InferenceSetup:
    batch: int = 16
    prompt: int = 320                   # prompt positions per row, images included
    new_tokens: int = 128               # generated text tokens (understanding)
    image_positions: Optional[int] = None   # generated image positions (text-to-image)
    cfg: bool = True                    # classifier-free guidance doubles the rows
    dtype_bytes: int = 2


@dataclass
class InferencePlan:
    weights: float
    understanding_kv: float     # LLM KV cache for batch rows of prompt + new tokens
    generation_kv: float        # LLM KV cache for image generation (x2 rows with CFG)
    depth_kv: float             # depth-head cache for one position of every row
    logits: float               # fp32 logits of one decoding step
    setup: InferenceSetup = field(default_factory=InferenceSetup)

    @property
    def understanding(self) -> float:
        return self.weights + self.understanding_kv + self.logits

    @property
    def generation(self) -> float:
        return self.weights + self.generation_kv + self.depth_kv


def plan_inference(config: UniTokMLLMConfig, setup: InferenceSetup, sizes: Optional[ModelSizes] = None) -> InferencePlan:
    sizes = sizes or model_sizes(config)
    e = setup.dtype_bytes
    kv = config.num_key_value_heads * (config.hidden_size // config.num_attention_heads)
    per_position = 2 * config.num_hidden_layers * kv * e          # keys and values
    positions = setup.image_positions or config.image_positions
    rows = setup.batch * (2 if setup.cfg else 1)
    return InferencePlan(
        weights=e * sizes.total,
        understanding_kv=per_position * setup.batch * (setup.prompt + setup.new_tokens),
        generation_kv=per_position * rows * (setup.prompt + positions),
        depth_kv=2 * config.depth_head_layers * kv * e * rows * config.num_codebooks,
        logits=FP32 * setup.batch * config.vocab_size, setup=setup)

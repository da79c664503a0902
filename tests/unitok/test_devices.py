"""--device / --dtype / --attn-implementation resolution, run on whatever devices this machine has
(no mocks of torch.cuda: on a GPU machine the same assertions check the cuda:LOCAL_RANK choice)."""
import pytest
import torch

from unitok.devices import resolve_attn_implementation, resolve_device, resolve_dtype


@pytest.mark.parametrize("local_rank", [0, 1, 3])
def test_auto_picks_the_local_rank_gpu_or_the_cpu(monkeypatch, local_rank):
    monkeypatch.setenv("LOCAL_RANK", str(local_rank))
    device = resolve_device("auto")
    if torch.cuda.is_available():
        assert device == torch.device("cuda", local_rank % torch.cuda.device_count())
        assert resolve_device("cuda") == device
    else:
        assert device == torch.device("cpu")
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    # a tensor can be created where the choice says
    assert torch.zeros(1, device=device).device.type == device.type


def test_explicit_devices_and_bad_names():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    if torch.cuda.is_available():
        assert resolve_device("cuda:0") == torch.device("cuda", 0)
        with pytest.raises(ValueError, match="visible"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
    else:
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda:0")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("gpu-please")


def test_dtypes():
    assert resolve_dtype("bf16") is torch.bfloat16 and resolve_dtype("bfloat16") is torch.bfloat16
    assert resolve_dtype("float32") is torch.float32 and resolve_dtype("fp16") is torch.float16
    assert resolve_dtype("torch.bfloat16") is torch.bfloat16 and resolve_dtype(torch.float16) is torch.float16
    assert resolve_dtype("auto", torch.device("cpu")) is torch.float32
    with pytest.raises(ValueError, match="unknown dtype"):
        resolve_dtype("int8")


def test_attention_choice_falls_back_or_explains():
    cpu = torch.device("cpu")
    assert resolve_attn_implementation(None, cpu, torch.float32) == "sdpa"
    assert resolve_attn_implementation("auto", cpu, torch.bfloat16) == "sdpa"
    assert resolve_attn_implementation("eager", cpu, torch.float32) == "eager"
    with pytest.raises(ValueError, match="CUDA device"):
        resolve_attn_implementation("flash_attention_2", cpu, torch.bfloat16)
    with pytest.raises(ValueError, match="unknown attention"):
        resolve_attn_implementation("xformers", cpu, torch.float32)

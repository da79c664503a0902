import torch

from trainers.tokenizer import checkpoint as ckpt


def test_atomic_save_and_latest_complete_checkpoint(tmp_path):
    ckpt.atomic_save({"step": 3}, ckpt.checkpoint_path(tmp_path, 3))
    ckpt.atomic_save({"step": 6}, ckpt.checkpoint_path(tmp_path, 6))
    (tmp_path / ".ckpt-step00000009.pt.tmp-123").write_bytes(b"partial")   # an interrupted write
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["ckpt-step00000003.pt", "ckpt-step00000006.pt"]
    assert ckpt.load_latest(tmp_path)["step"] == 6
    ckpt.checkpoint_path(tmp_path, 12).write_bytes(b"corrupt")          # newest unreadable -> older one
    assert ckpt.load_latest(tmp_path)["step"] == 6
    ckpt.prune(tmp_path, keep=1)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["ckpt-step00000012.pt"]
    assert ckpt.load_latest(tmp_path / "nothing") is None


def test_rng_state_round_trip():
    state = ckpt.rng_state()
    a = torch.rand(3)
    ckpt.set_rng_state(state)
    assert torch.equal(torch.rand(3), a)

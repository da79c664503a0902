"""eval/vqa.py on the golden official-format model: --batch-size 16 answers exactly as --batch-size 1,
and under torchrun with --device auto two processes, each on its own device (cuda:LOCAL_RANK when
CUDA is present, else the CPU), split the questions and rank 0 merges exactly what one process
answers."""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from PIL import Image

from ports import reserved_port

REPO = Path(__file__).resolve().parents[2]


def write_gqa(root: Path, golden_dir: Path, count: int) -> None:
    (root / "images").mkdir(parents=True)
    names = sorted(os.listdir(golden_dir / "tokenizer_tiny" / "inputs"))
    for name in names:
        Image.open(golden_dir / "tokenizer_tiny" / "inputs" / name).convert("RGB").save(
            root / "images" / f"{Path(name).stem}.jpg")
    questions = ["What is in the image?", "Is it red?", "How many are there?"]
    entries = {f"q{i}": {"imageId": Path(names[i % len(names)]).stem, "question": questions[i % 3], "answer": "yes"}
               for i in range(count)}
    (root / "testdev_balanced_questions.json").write_text(json.dumps(entries))


def run(cmd, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def test_two_processes_with_device_auto_merge_like_one(tmp_path, golden_dir):
    write_gqa(tmp_path / "gqa", golden_dir, count=7)
    common = ["--bench", "gqa", "--model", str(golden_dir / "mllm_tiny"), "--unitok",
              str(golden_dir / "tokenizer_tiny" / "official_ckpt.pth"), "--data", str(tmp_path / "gqa"),
              "--max-new-tokens", "5", "--device", "auto", "--merge-timeout", "600"]
    with reserved_port() as port:
        logs = run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                    str(port), str(REPO / "eval" / "vqa.py"), *common, "--output", str(tmp_path / "two"),
                    "--batch-size", "2"], tmp_path)
    run([sys.executable, str(REPO / "eval" / "vqa.py"), *common, "--output", str(tmp_path / "one")], tmp_path)

    expected = ["cuda:0", "cuda:1"] if torch.cuda.device_count() >= 2 else (
        ["cuda:0", "cuda:0"] if torch.cuda.is_available() else ["cpu", "cpu"])
    for rank, device in enumerate(expected):
        assert f"rank {rank}: model on {device}" in logs
    two = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert two["complete"] and two["settings"]["world_size"] == 2 and two["counts"]["answered"] == 7
    assert two["settings"]["device"] == expected[0]
    assert not list((tmp_path / "two").glob("predictions.rank*.jsonl"))
    read = lambda folder: [json.loads(line) for line in (tmp_path / folder / "predictions.jsonl").read_text().splitlines()]  # noqa: E731
    merged, single = read("two"), read("one")
    assert [r["question_id"] for r in merged] == [f"q{i}" for i in range(7)]
    assert [r["answer"] for r in merged] == [r["answer"] for r in single]


def test_batch_size_16_answers_like_batch_size_1(tmp_path, golden_dir):
    write_gqa(tmp_path / "gqa", golden_dir, count=20)
    common = ["--bench", "gqa", "--model", str(golden_dir / "mllm_tiny"), "--unitok",
              str(golden_dir / "tokenizer_tiny" / "official_ckpt.pth"), "--data", str(tmp_path / "gqa"),
              "--max-new-tokens", "8", "--device", "cpu"]
    for batch in (1, 16):
        run([sys.executable, str(REPO / "eval" / "vqa.py"), *common, "--output", str(tmp_path / f"b{batch}"),
             "--batch-size", str(batch)], tmp_path)
    read = lambda folder: [json.loads(line) for line in (tmp_path / folder / "predictions.jsonl").read_text().splitlines()]  # noqa: E731
    one, sixteen = read("b1"), read("b16")
    assert len(one) == 20 and one == sixteen
    assert len({r["answer"] for r in one}) >= 3   # answers differ (by image, for this random model)
    summary = json.loads((tmp_path / "b16" / "summary.json").read_text())
    assert summary["settings"]["batch_size"] == 16 and summary["rank0_throughput"]["questions"] == 20

"""benchmarks/gpu_checks.py runs end to end on whatever device exists (here small settings; on a
CPU the flash-attention check says why it is skipped) and writes its table as JSON."""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]


def test_gpu_checks_script_runs_and_reports(tmp_path):
    out = tmp_path / "checks.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "gpu_checks.py"), "--preset", "tiny", "--skip", "training",
           "--seq", "320", "--questions", "4", "--batch-sizes", "1", "4", "--gen-batch-sizes", "2",
           "--positions", "4", "--max-new-tokens", "3", "--dtypes", "float32", "--json", str(out)]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", DS_ACCELERATOR="cpu")
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    checks = {c["check"]: c for c in json.loads(out.read_text())["checks"]}
    flash = checks["flash-attention 2, packed batches"]
    if not torch.cuda.is_available():
        assert flash["ok"] is None and "CUDA" in flash["result"]
    assert checks["batched evaluation (float32)"]["ok"] is True
    assert "4/4 = b1" in checks["batched evaluation (float32)"]["result"]
    assert checks["text-to-image, CFG 3 (float32)"]["ok"] is True
    assert "check" in proc.stdout and "status" in proc.stdout

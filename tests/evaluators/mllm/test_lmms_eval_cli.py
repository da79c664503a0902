"""lmms-eval's own command line runs our plugin (found through the `lmms_eval.models` entry point)
on a local task in GQA's format and reports the accuracy eval/vqa.py reports on the same data,
with the same answer for every question."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[3]
MAX_NEW_TOKENS = 6

TASK_YAML = """task: unitok_local_gqa
dataset_path: json
dataset_kwargs:
  data_files:
    test: {docs}
test_split: test
output_type: generate_until
doc_to_visual: !function utils.doc_to_visual
doc_to_text: !function utils.doc_to_text
doc_to_target: answer
generation_kwargs:
  max_new_tokens: {max_new_tokens}
  temperature: 0
  do_sample: false
process_results: !function utils.process_results
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
"""

MC_YAML = """task: unitok_local_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {docs}
test_split: test
output_type: multiple_choice
doc_to_visual: !function utils.doc_to_visual
doc_to_text: question
doc_to_choice: ["yes", "no"]
doc_to_target: label
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
"""

TASK_UTILS = '''"""The GQA prompt and scoring of evaluators.mllm, so both harnesses ask and grade alike."""
from PIL import Image

from evaluators.mllm.benchmarks import get_benchmark
from evaluators.mllm.scoring.gqa import normalize_gqa_answer
from evaluators.mllm.types import Question

GQA = get_benchmark("gqa")


def doc_to_visual(doc):
    return [Image.open(doc["image_path"]).convert("RGB")]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    return GQA.prompt_for(Question(doc["question_id"], doc["question"], None))


def process_results(doc, results):
    return {"exact_match": float(normalize_gqa_answer(results[0]) == normalize_gqa_answer(doc["answer"]))}
'''


def load_vqa_script():
    spec = importlib.util.spec_from_file_location("eval_vqa_for_lmms", REPO / "eval" / "vqa.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.lmms_eval
def test_lmms_eval_cli_matches_eval_vqa_on_a_local_gqa_task(tmp_path, golden_dir):
    """Also a multiple-choice task in the same run: lmms-eval ranks the choices by our
    loglikelihood, so its accuracy follows from the pipeline's own scores."""
    if importlib.util.find_spec("lmms_eval") is None:
        pytest.fail("lmms-eval is not installed: run `bash scripts/setup_venv.sh dev`")
    from mllm.pipeline import UnifiedPipeline

    model, unitok = golden_dir / "mllm_tiny", golden_dir / "tokenizer_tiny" / "official_ckpt.pth"
    inputs = golden_dir / "tokenizer_tiny" / "inputs"
    gqa = tmp_path / "gqa"
    (gqa / "images").mkdir(parents=True)
    image_ids = []
    for name in sorted(os.listdir(inputs)):
        image_ids.append(Path(name).stem)
        Image.open(inputs / name).convert("RGB").save(gqa / "images" / f"{image_ids[-1]}.jpg")
    questions = ["What is in the image?", "Is it day or night?", "What colour is it?", "Where is this?"]
    items = [(f"q{i}", image_ids[i % len(image_ids)], questions[i % len(questions)]) for i in range(8)]

    # Ground truths: the model's own answer for even questions, a word it never says for odd ones,
    # so a correct harness scores exactly 50 %.
    pipeline = UnifiedPipeline.from_pretrained(str(model), unitok_path=str(unitok), device="cpu", dtype="float32")
    gqa_bench = load_vqa_script().get_benchmark("gqa")
    from evaluators.mllm.types import Question
    prompts = [gqa_bench.prompt_for(Question(qid, q, None)) for qid, _, q in items]
    images = [Image.open(gqa / "images" / f"{image}.jpg").convert("RGB") for _, image, _ in items]
    own = pipeline.chat_batch(images, prompts, max_new_tokens=MAX_NEW_TOKENS)
    entries = {qid: {"imageId": image, "question": q, "answer": own[i] if i % 2 == 0 else "xylophone"}
               for i, (qid, image, q) in enumerate(items)}
    (gqa / "testdev_balanced_questions.json").write_text(json.dumps(entries))

    vqa_out = tmp_path / "vqa"
    assert load_vqa_script().main(["--bench", "gqa", "--model", str(model), "--unitok", str(unitok),
                                   "--data", str(gqa), "--output", str(vqa_out), "--batch-size", "4",
                                   "--max-new-tokens", str(MAX_NEW_TOKENS), "--device", "cpu"]) == 0
    vqa_summary = json.loads((vqa_out / "summary.json").read_text())
    vqa_answers = {json.loads(line)["question_id"]: json.loads(line)["answer"]
                   for line in (vqa_out / "predictions.jsonl").read_text().splitlines()}
    assert vqa_summary["scores"]["accuracy"] == 50.0

    task_dir = tmp_path / "task"
    task_dir.mkdir()
    docs = task_dir / "docs.jsonl"
    docs.write_text("".join(json.dumps({"question_id": qid, "question": e["question"], "answer": e["answer"],
                                        "image_path": str(gqa / "images" / f"{e['imageId']}.jpg")}) + "\n"
                            for qid, e in entries.items()))
    (task_dir / "unitok_local_gqa.yaml").write_text(TASK_YAML.format(docs=docs, max_new_tokens=MAX_NEW_TOKENS))
    (task_dir / "utils.py").write_text(TASK_UTILS)
    # Multiple choice: the label is the choice the model prefers for even documents, the other one
    # for odd documents, so lmms-eval must report 50 %.
    mc_questions = [f"{q} Answer yes or no." for _, _, q in items]
    scores = pipeline.loglikelihood(images * 2, mc_questions * 2, [" yes"] * len(items) + [" no"] * len(items))
    preferred = [0 if scores[i].logprob >= scores[i + len(items)].logprob else 1 for i in range(len(items))]
    mc_docs = task_dir / "mc.jsonl"
    mc_docs.write_text("".join(json.dumps({"question": mc_questions[i], "label": preferred[i] ^ (i % 2),
                                           "image_path": str(gqa / "images" / f"{items[i][1]}.jpg")}) + "\n"
                               for i in range(len(items))))
    (task_dir / "unitok_local_mc.yaml").write_text(MC_YAML.format(docs=mc_docs))
    out = tmp_path / "lmms"
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               HF_HOME=str(tmp_path / "hf"), OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    cmd = [sys.executable, "-m", "lmms_eval", "eval", "--model", "unitok_mllm",
           "--model_args", f"pretrained={model},unitok={unitok},device=cpu,dtype=float32",
           "--tasks", "unitok_local_gqa,unitok_local_mc", "--include_path", str(task_dir), "--batch_size", "4",
           "--output_path", str(out), "--log_samples"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    results = [json.loads(p.read_text()) for p in out.rglob("*results*.json")]
    assert len(results) == 1, list(out.rglob("*"))
    accuracy = results[0]["results"]["unitok_local_gqa"]["exact_match,none"]
    assert 100.0 * accuracy == pytest.approx(vqa_summary["scores"]["accuracy"])
    assert results[0]["results"]["unitok_local_mc"]["acc,none"] == pytest.approx(0.5)

    samples = [json.loads(line) for p in out.rglob("*samples_unitok_local_gqa*.jsonl")
               for line in p.read_text().splitlines()]
    assert len(samples) == len(items)
    for sample in samples:  # doc_id: the document's index in docs.jsonl
        answer = sample["filtered_resps"]
        answer = answer[0] if isinstance(answer, list) else answer
        assert answer.strip() == vqa_answers[items[sample["doc_id"]][0]]

"""Tiny benchmark folders in the official published layouts, written by the tests themselves,
and a deterministic fake answerer."""
from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from evaluators.mllm.scoring.mme import COGNITION_SUBTASKS, PERCEPTION_SUBTASKS


def write_image(path: Path, colour=(200, 30, 30), size=(24, 16)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


class FakeAnswerer:
    """Answers by looking up the question text (the part before the instruction line)."""

    def __init__(self, answers: dict[str, str], default: str = "maybe"):
        self.answers, self.default = answers, default
        self.prompts: list[str] = []
        self.image_sizes: list[tuple[int, int] | None] = []

    def answer(self, images, prompts, max_new_tokens):
        assert len(images) == len(prompts) and max_new_tokens > 0
        self.prompts += prompts
        self.image_sizes += [None if im is None else im.size for im in images]
        return [self.answers.get(p.split("\n")[0], self.default) for p in prompts]


def write_gqa(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    questions = {
        "201": {"imageId": "n1", "question": "Is the sky blue?", "answer": "yes",
                "types": {"structural": "verify"}, "fullAnswer": "Yes, the sky is blue."},
        "202": {"imageId": "n1", "question": "What is under the cup?", "answer": "table",
                "types": {"structural": "query"}},
        "203": {"imageId": "n_missing", "question": "What color is the car?", "answer": "red",
                "types": {"structural": "query"}},
        "204": {"imageId": "n1", "question": "Which animal is this?"},  # malformed: no answer
    }
    (root / "testdev_balanced_questions.json").write_text(json.dumps(questions))
    write_image(root / "images" / "n1.jpg")


def write_vqav2(root: Path, split: str = "val2014", with_annotations: bool = True) -> None:
    root.mkdir(parents=True, exist_ok=True)
    image_split = "test2015" if split == "test-dev2015" else split
    questions = [{"image_id": 42, "question": "How many dogs?", "question_id": 420},
                 {"image_id": 42, "question": "What animal is it?", "question_id": 421},
                 {"image_id": 7, "question": "Is it raining?", "question_id": 70},
                 {"image_id": 42, "question_id": 422}]  # malformed: no question text
    (root / f"v2_OpenEnded_mscoco_{split}_questions.json").write_text(
        json.dumps({"data_subtype": split, "questions": questions}))
    if with_annotations:
        def ann(qid, answers, kind):
            return {"question_id": qid, "image_id": 42, "answer_type": kind,
                    "answers": [{"answer": a, "answer_confidence": "yes", "answer_id": i + 1}
                                for i, a in enumerate(answers)]}
        annotations = [ann(420, ["2"] * 10, "number"), ann(421, ["dog"] * 2 + ["cat"] * 8, "other"),
                       ann(70, ["no"] * 10, "yes/no"), ann(422, ["x"] * 10, "other")]
        (root / f"v2_mscoco_{split}_annotations.json").write_text(json.dumps({"annotations": annotations}))
    write_image(root / image_split / f"COCO_{image_split}_{42:012d}.jpg")
    # image 7 is a corrupt file: counted as failed, not a crash
    (root / image_split / f"COCO_{image_split}_{7:012d}.jpg").write_bytes(b"not a jpeg")


def write_textvqa(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    data = [{"question_id": 1, "question": "what brand is this?", "image_id": "abc",
             "answers": ["nike"] * 3 + ["adidas"] * 7},
            {"question_id": 2, "question": "what does the sign say?", "image_id": "abc",
             "answers": ["don't walk"] * 10},
            {"question_id": 3, "image_id": "abc", "answers": []}]  # malformed
    (root / "TextVQA_0.5.1_val.json").write_text(json.dumps({"dataset_name": "textvqa", "data": data}))
    write_image(root / "train_images" / "abc.jpg")


def write_pope(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    rows = {"random": [(1, "dog", "yes"), (2, "cat", "no")],
            "popular": [(1, "dog", "yes"), (2, "car", "no")],
            "adversarial": [(1, "dog", "yes"), (2, "bowl", "no")]}
    for split, entries in rows.items():
        lines = [json.dumps({"question_id": qid, "image": "COCO_val2014_000000000001.jpg",
                             "text": f"Is there a {obj} in the image?", "label": label})
                 for qid, obj, label in entries]
        (root / f"coco_pope_{split}.json").write_text("\n".join(lines) + "\n")
    write_image(root / "val2014" / "COCO_val2014_000000000001.jpg")


def write_mme(root: Path) -> None:
    """Every subtask gets one image with a Yes and a No question; artwork uses the
    images/ + questions_answers_YN/ variant, existence holds two images."""
    root.mkdir(parents=True, exist_ok=True)
    for subtask in PERCEPTION_SUBTASKS + COGNITION_SUBTASKS:
        folder = root / subtask
        images = ["a", "b"] if subtask == "existence" else ["a"]
        for stem in images:
            lines = f"Is this {subtask} {stem} one? Please answer yes or no.\tYes\n" \
                    f"Is this {subtask} {stem} two? Please answer yes or no.\tNo\n"
            if subtask == "artwork":
                write_image(folder / "images" / f"{stem}.jpg")
                (folder / "questions_answers_YN").mkdir(parents=True, exist_ok=True)
                (folder / "questions_answers_YN" / f"{stem}.txt").write_text(lines)
            else:
                write_image(folder / f"{stem}.png")
                (folder / f"{stem}.txt").write_text(lines)


def write_mmvet(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    questions = {"v1_0": {"imagename": "v1_0.png", "question": "What is x in the equation?",
                          "answer": "-1<AND>-5", "capability": ["ocr", "math"]},
                 "v1_1": {"imagename": "v1_1.png", "question": "Describe the image.",
                          "answer": "a red square", "capability": ["rec"]}}
    (root / "mm-vet.json").write_text(json.dumps(questions))
    write_image(root / "images" / "v1_0.png")
    write_image(root / "images" / "v1_1.png")

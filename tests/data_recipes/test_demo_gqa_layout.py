from data_recipes.demo.gqa_layout import main, write_gqa_layout
from data_recipes.demo.language import KINDS
from data_recipes.demo.shapes import demo_items
from evaluators.mllm.benchmarks.gqa import GQA


def test_gqa_layout_is_read_by_the_gqa_benchmark_with_generator_answers(tmp_path):
    write_gqa_layout(tmp_path, num_images=4, image_size=32)
    loaded = GQA().load(tmp_path)
    items = {f"demo{it.index:06d}": it for it in demo_items(4, split="heldout", image_size=32)}
    expected = {(image_id, kind): q for image_id, it in items.items() for kind in KINDS
                if (q := it.question(kind)) is not None}
    assert not loaded.malformed and len(loaded.questions) == len(expected) >= 4 * 4
    for q in loaded.questions:
        image_id, kind = q.question_id.split("_")
        assert q.image_path.is_file()
        assert q.reference["answer"] == expected[image_id, kind].answer


def test_cli_writes_the_layout(tmp_path):
    main(["--out", str(tmp_path / "gqa"), "--num", "2", "--image-size", "32"])
    assert len(list((tmp_path / "gqa" / "images").glob("*.jpg"))) == 2

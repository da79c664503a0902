"""The pydoc_text loader: real prose, text only, stable keys; and the two-stage demo recipes."""
from data_recipes.loaders import iter_source
from data_recipes.loaders.pydoc_text import CHUNK_CHARS
from data_recipes.recipe import load_recipe


def test_pydoc_text_rows():
    recipe = load_recipe("demo_instruct")
    source = next(s for s in recipe.sources if s.loader == "pydoc_text")
    rows = list(iter_source(source))
    assert len(rows) > 300 and len({r.key for r in rows}) == len(rows)
    assert all(r.image is None and r.conversations is None and 200 <= len(r.text) <= CHUNK_CHARS for r in rows)
    assert any("assert" in r.text for r in rows)
    assert [r.key for r in iter_source(source)][:5] == [r.key for r in rows[:5]]


def test_two_stage_recipes():
    align, instruct = load_recipe("demo_align"), load_recipe("demo_instruct")
    assert {s.sample_type for s in align.sources} == {"t2i", "i2t"}
    assert {s.sample_type for s in instruct.sources} == {"instruction", "t2i", "text"}

import pytest

from data_recipes.recipe import RecipeError, load_recipe, parse_count, parse_recipe, shipped_recipes

GOOD = """\
name: r
sources:
  - name: a
    loader: demo
    sample_type: t2i
    weight: 2
  - name: b
    loader: jsonl
    path: x.jsonl
    sample_type: i2t
    weight: 1.5M
"""


@pytest.mark.parametrize("name", ["pretrain", "finetune", "demo"])
def test_every_shipped_recipe_parses(name):
    recipe = load_recipe(name)
    assert recipe.sources and abs(sum(recipe.normalized_weights().values()) - 1) < 1e-9
    assert set(shipped_recipes()) >= {"pretrain", "finetune", "demo"}


def test_paper_mixtures():
    pretrain = load_recipe("pretrain")
    assert [s.weight for s in pretrain.sources] == [10e6, 30e6, 30e6]
    assert [s.sample_type for s in pretrain.sources] == ["text", "t2i", "t2i"]
    assert all(s.options.caption_prob_long == 0.8 and s.options.unconditional_prob == 0.1 for s in pretrain.sources)
    finetune = load_recipe("finetune")
    assert {s.sample_type: s.weight for s in finetune.sources} == {"t2i": 1.5e6, "instruction": 1.5e6}


def test_good_recipe_values():
    recipe = parse_recipe(GOOD, "good.yaml")
    assert recipe.source("b").weight == 1.5e6 and recipe.source("b").line == 7
    assert recipe.normalized_weights()["a"] == pytest.approx(2 / 1_500_002)


@pytest.mark.parametrize("edit, line, words", [
    (("loader: demo", "loader: parquet"), 4, "unknown loader 'parquet'"),
    (("sample_type: i2t", "sample_type: vqa"), 10, "unknown sample type 'vqa'"),
    (("weight: 1.5M", "weight: lots"), 11, "weight does not parse"),
    (("weight: 2", "weight: -2"), 6, "weight does not parse"),
    (("    path: x.jsonl\n", ""), 7, "needs a 'path'"),
    (("  - name: a\n", "  - \n"), 4, "missing required field 'name'"),
    (("weight: 2", "weight: 2\n    colour: red"), 7, "unknown field 'colour'"),
    (("weight: 2", "weight: 2\n    options: {unconditional_prob: 1.5}"), 7, "unconditional_prob must be a probability"),
    (("weight: 2", "weight: 2\n    streaming: maybe"), 7, "expected bool"),
])
def test_errors_name_file_and_line(edit, line, words):
    text = GOOD.replace(*edit, 1)
    assert text != GOOD
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, "bad.yaml")
    assert str(info.value).startswith(f"bad.yaml:{line}:"), str(info.value)
    assert words in str(info.value)


def test_invalid_yaml_and_duplicates():
    with pytest.raises(RecipeError, match=r"^x.yaml:\d+: invalid YAML"):
        parse_recipe("name: [unclosed\n", "x.yaml")
    with pytest.raises(RecipeError, match=r"^x.yaml:7: source 'a': duplicate name"):
        parse_recipe(GOOD.replace("name: b", "name: a"), "x.yaml")
    with pytest.raises(RecipeError, match="no such recipe"):
        load_recipe("does-not-exist")


def test_parse_count():
    assert parse_count("30M") == 30e6 and parse_count("1.5k") == 1500 and parse_count(3) == 3.0
    for bad in ("", "M", "1.5X", True, 0, "-1"):
        with pytest.raises(ValueError):
            parse_count(bad)

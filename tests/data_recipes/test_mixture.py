import numpy as np
import pytest
from torch.utils.data import DataLoader

from data_recipes.mixture import BLOCK, MixtureDataset
from data_recipes.recipe import parse_recipe
from data_recipes.shards import shard_name, write_shard

SIZES = {"texts": 7, "pairs": 11, "chats": 5}
RECIPE = """\
name: mix
seed: 3
sources:
  - {name: texts, loader: demo, sample_type: text, weight: 1}
  - {name: pairs, loader: demo, sample_type: t2i, weight: 2}
  - {name: chats, loader: demo, sample_type: instruction, weight: 1}
"""


def _record(source, i, kind):
    base = {"source": source, "key": f"{source}-{i}", "sample_type": kind, "caption": f"a shape number {i}",
            "long_caption": f"a long caption {i}", "text": f"document {i}", "conversations": None, "image": -1}
    if kind == "instruction":
        base["conversations"] = [{"from": "human", "value": f"question {i}"}, {"from": "gpt", "value": f"answer {i}"}]
    if kind == "t2i":
        base["image"] = i
    return base


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretok")
    recipe = parse_recipe(RECIPE)
    for source in recipe.sources:
        n = SIZES[source.name]
        (root / source.name).mkdir()
        records = [_record(source.name, i, source.sample_type) for i in range(n)]
        codes = np.arange(n * 8 * 4).reshape(n, 8, 4) if source.sample_type == "t2i" else np.zeros((0, 8, 4))
        half = n // 2   # two shards per source, codes indexed per shard
        write_shard(root / source.name / shard_name(0, 0), codes[:half], records[:half], [], {})
        second = [{**r, "image": r["image"] - half if r["image"] >= 0 else -1} for r in records[half:]]
        write_shard(root / source.name / shard_name(0, 1), codes[half:], second, [], {})
    return recipe, root


def _keys(dataset):
    return [dataset.locate(s) for s in range(dataset.num_samples)]


def test_deterministic_weighted_and_epoch_complete(shards, tokenizer):
    recipe, root = shards
    ds = MixtureDataset(recipe, root, tokenizer, num_samples=2000, rank=0, world_size=1)
    again = MixtureDataset(recipe, root, tokenizer, num_samples=2000, rank=0, world_size=1)
    assert _keys(ds) == _keys(again)
    sources = np.array([s for s, _ in _keys(ds)])
    assert np.bincount(sources) / len(sources) == pytest.approx([0.25, 0.5, 0.25], abs=0.04)
    rows_of_pairs = [r for s, r in _keys(ds) if s == 1]
    for start in range(0, len(rows_of_pairs) - 11, 11):   # each epoch visits every row once
        assert sorted(rows_of_pairs[start:start + 11]) == list(range(11))
    other_seed = MixtureDataset(recipe, root, tokenizer, num_samples=2000, rank=0, world_size=1, seed=4)
    assert _keys(other_seed) != _keys(ds)


def test_samples_are_built_with_codes(shards, tokenizer):
    recipe, root = shards
    ds = MixtureDataset(recipe, root, tokenizer, num_samples=60, rank=0, world_size=1)
    samples = list(ds)
    for step, sample in enumerate(samples):
        source, row = ds.locate(step)
        assert sample.data_type == {0: "text", 1: "t2i", 2: "instruction"}[source] or sample.data_type == "i2t"
        if sample.images:
            assert np.array_equal(sample.images[0], np.arange(row * 32, row * 32 + 32).reshape(8, 4))
    assert [s.input_ids for s in samples] == [s.input_ids for s in ds]   # caption draws are seeded too


def test_resume_continues_exactly(shards, tokenizer):
    recipe, root = shards
    full = [s.input_ids for s in MixtureDataset(recipe, root, tokenizer, num_samples=50, rank=0, world_size=1)]
    first = MixtureDataset(recipe, root, tokenizer, num_samples=50, rank=0, world_size=1)
    iterator = iter(first)
    head = [next(iterator).input_ids for _ in range(17)]
    state = first.state_dict()
    resumed = MixtureDataset(recipe, root, tokenizer, num_samples=50, rank=0, world_size=1)
    resumed.load_state_dict(state)
    assert head + [s.input_ids for s in resumed] == full
    with pytest.raises(ValueError, match="seed"):
        MixtureDataset(recipe, root, tokenizer, seed=9, rank=0, world_size=1).load_state_dict(state)


def test_ranks_and_workers_partition_the_stream(shards, tokenizer):
    recipe, root = shards
    full = [s.input_ids for s in MixtureDataset(recipe, root, tokenizer, num_samples=40, rank=0, world_size=1)]
    per_rank = [[s.input_ids for s in MixtureDataset(recipe, root, tokenizer, num_samples=40, rank=r, world_size=2)]
                for r in range(2)]
    assert per_rank[0] == full[0::2] and per_rank[1] == full[1::2]
    ds = MixtureDataset(recipe, root, tokenizer, num_samples=40, rank=1, world_size=2)
    loader = DataLoader(ds, batch_size=None, num_workers=2)
    assert [s.input_ids for s in loader] == per_rank[1]


def test_block_boundaries_keep_cursors(shards, tokenizer):
    recipe, root = shards
    ds = MixtureDataset(recipe, root, tokenizer, rank=0, world_size=1)
    steps = [BLOCK - 1, BLOCK, 3 * BLOCK + 5]
    fresh = [MixtureDataset(recipe, root, tokenizer, rank=0, world_size=1).locate(s) for s in reversed(steps)]
    assert [ds.locate(s) for s in steps] == fresh[::-1]
    rows = [r for s, r in (ds.locate(step) for step in range(2 * BLOCK)) if s == 2]
    for start in range(0, len(rows) - 5, 5):   # epochs of the 5-row source stay whole across blocks
        assert sorted(rows[start:start + 5]) == list(range(5))

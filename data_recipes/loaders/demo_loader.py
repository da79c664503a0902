"""`demo` loader: rows of the generated shapes data set, with one VQA question per row."""
from __future__ import annotations

from typing import Iterator

from data_recipes.demo.shapes import QUESTIONS, demo_items
from data_recipes.loaders.raw import RawSample
from data_recipes.recipe import Source


def iter_demo(source: Source) -> Iterator[RawSample]:
    o = source.options
    kinds = list(QUESTIONS)
    for item in demo_items(o.demo_num_samples, o.demo_split, o.demo_seed, o.demo_image_size):
        kind = kinds[item.index % len(kinds)]
        yield RawSample(source=source.name, key=f"{item.split}-{item.index}", image=item.image,
                        caption=item.caption, long_caption=item.long_caption, text=item.long_caption + ".",
                        conversations=item.conversation(kind),
                        meta={"shape": item.shape, "colour": item.colour, "position": item.position,
                              "size": item.size, "question_kind": kind, "answer": item.answer(kind)})

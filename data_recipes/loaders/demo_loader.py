"""`demo` loader: rows of the generated scenes data set; instruction rows carry several questions."""
from __future__ import annotations

import dataclasses
from typing import Iterator

from data_recipes.demo.shapes import demo_items
from data_recipes.loaders.raw import RawSample
from data_recipes.recipe import Source


def iter_demo(source: Source) -> Iterator[RawSample]:
    o = source.options
    for item in demo_items(o.demo_num_samples, o.demo_split, o.demo_seed, o.demo_image_size):
        conversation, questions = item.training_conversation(o.demo_turns)
        yield RawSample(source=source.name, key=f"{item.split}-{item.index}", image=None if source.sample_type == "text" else item.image,
                        caption=item.caption, long_caption=item.long_caption, text=item.long_caption + ".",
                        conversations=conversation,
                        meta={"objects": [dataclasses.asdict(obj) for obj in item.spec.objects],
                              "background": item.spec.background.kind,
                              "questions": [dataclasses.asdict(q) for q in questions]})

"""Built-in synthetic shapes data set (no download) and the checks that score models on it."""
from data_recipes.demo.checks import (answer_is_correct, chance_level, colour_chance, colour_matches_prompt,
                                      dominant_colour, score)
from data_recipes.demo.shapes import COLOURS, POSITIONS, QUESTIONS, SHAPES, DemoItem, demo_item, demo_items

__all__ = ["COLOURS", "POSITIONS", "QUESTIONS", "SHAPES", "DemoItem", "answer_is_correct", "chance_level",
           "colour_chance", "colour_matches_prompt", "demo_item", "demo_items", "dominant_colour", "score"]

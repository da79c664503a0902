"""Built-in procedural scenes data set (no download) and the checks that score models on it."""
from data_recipes.demo.checks import AboveChance, answer_is_correct, chance_level, score
from data_recipes.demo.language import CHANCE, KINDS, OPTIONS, Question
from data_recipes.demo.scenes import COLOURS, SHAPES, SIZES, SceneSpec, render, sample_scene
from data_recipes.demo.shapes import DemoItem, demo_item, demo_items

__all__ = ["AboveChance", "CHANCE", "COLOURS", "KINDS", "OPTIONS", "Question", "SHAPES", "SIZES", "SceneSpec",
           "DemoItem", "answer_is_correct", "chance_level", "demo_item", "demo_items", "render", "sample_scene",
           "score"]

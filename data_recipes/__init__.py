"""Data for UniTok-MLLM: declarative recipes, loaders, the built-in `demo` data set, offline
UniTok pre-tokenization, sequence building with the official token layout, packing and mixing.

Dependency direction: data_recipes may import mllm and unitok; never the other way round.
"""
from data_recipes.recipe import LOADERS, SAMPLE_TYPES, Recipe, RecipeError, Source, load_recipe, shipped_recipes

__all__ = ["LOADERS", "SAMPLE_TYPES", "Recipe", "RecipeError", "Source", "load_recipe", "shipped_recipes"]

"""Typed data recipes: YAML -> `Recipe` of `Source`s, validated before any compute.

Every error names the recipe file and the line of the offending YAML node (taken from the node
marks of `yaml.compose`), so a typo in a 3-hour pre-tokenization job fails in a second.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from mllm.constants import CAPTION_PROB_LONG, UNCONDITIONAL_PROB

LOADERS = ("hf", "webdataset", "llava_json", "jsonl", "demo", "pydoc_text")
SAMPLE_TYPES = ("text", "t2i", "i2t", "image_caption", "instruction")
_LOADERS_NEEDING_PATH = ("hf", "webdataset", "llava_json", "jsonl")
_COUNT_SUFFIX = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9}
RECIPE_DIR = Path(__file__).parent / "recipes"


class RecipeError(ValueError):
    """A recipe that cannot be used; the message starts with `file:line:`."""


@dataclass
class SourceOptions:
    """Per-source knobs; field names of the raw rows and the sampling probabilities."""
    caption_field: str = "caption"
    long_caption_field: str = "long_caption"   # the re-caption (InternVL in the paper)
    text_field: str = "text"
    image_field: str = "image"
    conversations_field: str = "conversations"
    image_folder: Optional[str] = None          # root for relative image paths (JSON/JSONL)
    caption_prob_long: float = CAPTION_PROB_LONG
    unconditional_prob: float = UNCONDITIONAL_PROB
    t2i_ratio: float = 1.0                      # t2i sources: P(T2I) else I2T, as --T2I_ratio
    # demo loader only
    demo_split: str = "train"
    demo_num_samples: int = 1000
    demo_image_size: int = 32
    demo_seed: int = 0
    demo_turns: int = 3                         # questions per instruction row (one image, several answers)


@dataclass
class Source:
    name: str
    loader: str
    sample_type: str
    weight: float = 1.0               # relative sampling weight; "30M" style counts allowed
    percentage: float = 100.0         # share of the source's rows used (official --percentage)
    path: Optional[str] = None        # HF name, save_to_disk folder, file or glob
    split: str = "train"
    streaming: bool = False
    max_samples: Optional[int] = None
    published_at: Optional[str] = None  # where the real data lives, for humans
    options: SourceOptions = field(default_factory=SourceOptions)
    line: int = 0                       # recipe line of this source, for later error messages


@dataclass
class Recipe:
    name: str
    sources: list[Source]
    path: Optional[Path] = None
    description: str = ""
    seed: int = 0
    max_length: int = 2048
    image_positions: int = 256        # LLM positions one image placeholder expands to

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(f"recipe {self.name!r} has no source {name!r}; it has {[s.name for s in self.sources]}")

    def normalized_weights(self) -> dict[str, float]:
        total = sum(s.weight for s in self.sources)
        return {s.name: s.weight / total for s in self.sources}


def parse_count(value: Any) -> float:
    """10, 2.5, "10M", "1.5M", "300K" -> float; raises ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMB]?)\s*", str(value), flags=re.IGNORECASE)
        if not match:
            raise ValueError(f"{value!r} is not a number or a count like '30M'")
        number = float(match.group(1)) * _COUNT_SUFFIX[match.group(2).upper()]
    if not number > 0:
        raise ValueError(f"{value!r} must be > 0")
    return number


def _line_map(node: yaml.Node, path: tuple = (), out: Optional[dict] = None) -> dict[tuple, int]:
    """(key path) -> 1-based line, for every mapping key and sequence item in the document."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            out[path + (key_node.value,)] = key_node.start_mark.line + 1
            _line_map(value_node, path + (key_node.value,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, path + (i,), out)
    return out


class _Parser:
    def __init__(self, text: str, origin: str):
        self.origin = origin
        try:
            node = yaml.compose(text)
            self.data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            raise RecipeError(f"{origin}:{line}: invalid YAML: {exc}") from exc
        self.lines = _line_map(node) if node is not None else {}

    def fail(self, path: tuple, message: str) -> RecipeError:
        while path and path not in self.lines:
            path = path[:-1]
        return RecipeError(f"{self.origin}:{self.lines.get(path, 1)}: {message}")

    def mapping(self, value: Any, path: tuple, what: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"{what} must be a mapping, got {type(value).__name__}")
        return value

    def typed_fields(self, cls, raw: dict, path: tuple, what: str, skip=()) -> dict:
        """Check keys against a dataclass and coerce simple types, naming the line on error."""
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
        values = {}
        for key, value in raw.items():
            if key not in fields:
                raise self.fail(path + (key,), f"{what}: unknown field {key!r} (known: {sorted(fields)})")
            values[key] = self.coerce(value, fields[key].type, path + (key,), f"{what}: field {key!r}")
        return values

    def coerce(self, value: Any, type_name: str, path: tuple, what: str) -> Any:
        base = type_name.replace("Optional[", "").rstrip("]")
        if value is None and type_name.startswith("Optional"):
            return None
        try:
            if base == "float":
                return float(value) if not isinstance(value, bool) else _bad(value)
            if base == "int":
                return _to_int(value)
            if base == "bool":
                return value if isinstance(value, bool) else _bad(value)
            if base == "str":
                return value if isinstance(value, str) else _bad(value)
        except (TypeError, ValueError) as exc:
            raise self.fail(path, f"{what}: expected {base}, got {value!r} ({exc})") from None
        return value


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        _bad(value)
    return int(value) if isinstance(value, (int, float)) else int(parse_count(value))


def _bad(value):
    raise TypeError(f"wrong type {type(value).__name__}")


def parse_recipe(text: str, origin: str = "<recipe>") -> Recipe:
    p = _Parser(text, origin)
    top = p.mapping(p.data, (), "recipe")
    for required in ("name", "sources"):
        if required not in top:
            raise p.fail((), f"recipe: missing required field {required!r}")
    if not isinstance(top["sources"], list) or not top["sources"]:
        raise p.fail(("sources",), "recipe: 'sources' must be a non-empty list")
    defaults = p.mapping(top.get("defaults") or {}, ("defaults",), "defaults")
    p.typed_fields(SourceOptions, defaults, ("defaults",), "defaults")
    sources, seen = [], set()
    for i, raw in enumerate(top["sources"]):
        source = _parse_source(p, p.mapping(raw, ("sources", i), f"source #{i}"), ("sources", i), defaults)
        if source.name in seen:
            raise p.fail(("sources", i, "name"), f"source {source.name!r}: duplicate name")
        seen.add(source.name)
        sources.append(source)
    head = {k: v for k, v in top.items() if k not in ("sources", "defaults")}
    values = p.typed_fields(Recipe, head, (), "recipe", skip=("sources", "path"))
    return Recipe(sources=sources, path=Path(origin) if origin != "<recipe>" else None, **values)


def _parse_source(p: _Parser, raw: dict, path: tuple, defaults: dict) -> Source:
    label = f"source {raw.get('name', '#' + str(path[-1]))!r}"
    for required in ("name", "loader", "sample_type"):
        if required not in raw:
            raise p.fail(path, f"{label}: missing required field {required!r}")
    if raw["loader"] not in LOADERS:
        raise p.fail(path + ("loader",), f"{label}: unknown loader {raw['loader']!r} (known: {', '.join(LOADERS)})")
    if raw["sample_type"] not in SAMPLE_TYPES:
        raise p.fail(path + ("sample_type",),
                     f"{label}: unknown sample type {raw['sample_type']!r} (known: {', '.join(SAMPLE_TYPES)})")
    if raw["loader"] in _LOADERS_NEEDING_PATH and not raw.get("path"):
        raise p.fail(path, f"{label}: loader {raw['loader']!r} needs a 'path'")
    if "weight" in raw:
        try:
            raw = {**raw, "weight": parse_count(raw["weight"])}
        except ValueError as exc:
            raise p.fail(path + ("weight",), f"{label}: weight does not parse: {exc}") from None
    values = p.typed_fields(Source, {k: v for k, v in raw.items() if k != "options"}, path, label,
                            skip=("options", "line"))
    if not 0 < values.get("percentage", 100.0) <= 100:
        raise p.fail(path + ("percentage",), f"{label}: percentage must be in (0, 100]")
    options_raw = {**defaults, **p.mapping(raw.get("options") or {}, path + ("options",), f"{label} options")}
    options = SourceOptions(**p.typed_fields(SourceOptions, options_raw, path + ("options",), f"{label} options"))
    for prob in ("caption_prob_long", "unconditional_prob", "t2i_ratio"):
        if not 0.0 <= getattr(options, prob) <= 1.0:
            raise p.fail(path + ("options", prob), f"{label}: {prob} must be a probability in [0, 1]")
    return Source(options=options, line=p.lines.get(path, 0), **values)


def load_recipe(path_or_name: str | Path) -> Recipe:
    """A YAML path, or the name of a shipped recipe ("pretrain", "finetune", "demo")."""
    path = Path(path_or_name)
    if not path.exists() and (RECIPE_DIR / f"{path_or_name}.yaml").exists():
        path = RECIPE_DIR / f"{path_or_name}.yaml"
    if not path.exists():
        raise RecipeError(f"{path_or_name}: no such recipe file (shipped: {', '.join(shipped_recipes())})")
    return parse_recipe(path.read_text(), str(path))


def shipped_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))

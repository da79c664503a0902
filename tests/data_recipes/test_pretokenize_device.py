"""Pre-tokenization's --device / --dtype: the tokenizer runs where asked; bf16 codes stay close to
the fp32 reference codes."""
import numpy as np

from data_recipes.pretokenize import main
from data_recipes.shards import PretokenizedSource


def test_device_auto_and_bf16(tmp_path, tiny_unitok_dir, capsys):
    recipe = tmp_path / "demo_small.yaml"
    recipe.write_text("name: d\ndefaults: {demo_num_samples: 6, demo_image_size: 32}\n"
                      "sources:\n  - {name: shapes, loader: demo, sample_type: t2i}\n")
    codes = {}
    for dtype in ("float32", "bfloat16"):
        main(["--recipe", str(recipe), "--unitok", str(tiny_unitok_dir), "--out", str(tmp_path / dtype),
              "--device", "auto", "--dtype", dtype, "--batch-size", "4"])
        codes[dtype] = np.stack([r["codes"] for r in PretokenizedSource(tmp_path / dtype / "shapes")])
    assert codes["float32"].shape == (6, 8, 4)
    assert (codes["float32"] == codes["bfloat16"]).mean() > 0.8
    assert '"shapes"' in capsys.readouterr().out

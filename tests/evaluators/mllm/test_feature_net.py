import pytest
import torch
from PIL import Image

from evaluators.mllm.generation.feature_net import FeatureNet, folder_frechet_distance


class MeanColour(torch.nn.Module):
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean(dim=(2, 3))


def write_folder(folder, colours):
    folder.mkdir(parents=True)
    for i, colour in enumerate(colours):
        Image.new("RGB", (6, 6), colour).save(folder / f"{i}.png")


def test_distance_is_labelled_by_the_network_and_zero_for_equal_sets(tmp_path):
    path = tmp_path / "mean_colour.pt2"
    batch = torch.export.Dim("batch", min=1)
    torch.export.save(torch.export.export(MeanColour(), (torch.rand(2, 3, 4, 4),),
                                          dynamic_shapes=({0: batch},)), str(path))
    net = FeatureNet.from_file(path, input_size=4)
    colours = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
    write_folder(tmp_path / "a", colours)
    write_folder(tmp_path / "b" / "nested", colours)
    result = folder_frechet_distance(tmp_path / "a", tmp_path / "b", net)
    assert result["FD-mean_colour"] == pytest.approx(0.0, abs=1e-9)
    assert result["generated_images"] == result["reference_images"] == 5


def test_shifted_set_gives_the_squared_mean_shift(tmp_path):
    # Features are mean colours in [0,1]; shifting every image by +51 grey levels (0.2) in all
    # channels moves the mean by 0.2 per channel and keeps the covariance: d = 3 * 0.2^2.
    net = FeatureNet("mean_colour", 4, MeanColour())
    base = [(0, 0, 0), (100, 20, 40), (20, 100, 60), (50, 50, 150)]
    write_folder(tmp_path / "a", base)
    write_folder(tmp_path / "b", [tuple(c + 51 for c in colour) for colour in base])
    assert folder_frechet_distance(tmp_path / "a", tmp_path / "b", net)["FD-mean_colour"] == pytest.approx(0.12)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_networks_load_too(tmp_path):
    path = tmp_path / "net.pt"
    torch.jit.script(MeanColour()).save(str(path))
    net = FeatureNet.from_file(path, name="MeanRGB", input_size=4)
    assert net.name == "MeanRGB"
    assert net.forward(torch.ones(1, 3, 4, 4)).tolist() == [[1.0, 1.0, 1.0]]


def test_missing_network_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        FeatureNet.from_file(tmp_path / "nowhere.pt")


def test_efficientnet_lite0_weights_give_a_labelled_distance(tmp_path):
    from PIL import Image

    from evaluators.tokenizer.effnet_lite0 import default_weights_path

    weights = default_weights_path()
    assert weights is not None, "EfficientNet-Lite0 weights missing: run `bash scripts/setup_venv.sh dev`"
    net = FeatureNet.from_file(weights)
    for folder, colour in (("a", (200, 30, 30)), ("b", (30, 30, 200))):
        (tmp_path / folder).mkdir()
        for i in range(3):
            Image.new("RGB", (32, 32), tuple(c + 10 * i for c in colour)).save(tmp_path / folder / f"{i}.png")
    same = folder_frechet_distance(tmp_path / "a", tmp_path / "a", net)
    different = folder_frechet_distance(tmp_path / "a", tmp_path / "b", net)
    assert same["feature_net"] == "EffNetLite0" and abs(same["FD-EffNetLite0"]) < 1e-3
    assert different["FD-EffNetLite0"] > 1.0

import json
from pathlib import Path

import pytest

from ml.config import TrainConfig, load_training_config
from ml.errors import ConfigError


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"epochs": -1}, "epochs must be an integer"),
        ({"epochs": 10**9}, "epochs must be an integer"),
        ({"batch_size": 0}, "batch_size must be an integer"),
        ({"lr": 0.0}, "lr must be a number"),
        ({"lr": -1e-3}, "lr must be a number"),
        ({"val_split": 0.0}, "val_split must be a number"),
        ({"val_split": 1.0}, "val_split must be a number"),
        ({"device": "tpu"}, "device must be one of"),
        ({"epochs": True}, "epochs must be an integer"),
        ({"augmentation": {"pitch_shift_semitones": -3}}, "augmentation.pitch_shift_semitones"),
        ({"augmentation": {"reverb": 1}}, "unknown augmentation option"),
        ({"architecture": {"groove_predictor": {"fc9": 3}}}, "unknown architecture key"),
    ],
)
def test_bad_hyperparameters_are_refused_with_the_field_named(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(values)


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown training option"):
        TrainConfig.from_dict({"epochz": 3})


def test_training_config_file_sets_per_model_values(tmp_path: Path) -> None:
    path = tmp_path / "training_config.json"
    path.write_text(
        json.dumps(
            {
                "emotion_recognizer": {"architecture": {"fc1": 64}, "learning_rate": 5e-4, "weight_decay": 1e-5},
                "training": {"epochs": 7},
            }
        )
    )
    config = TrainConfig(**load_training_config(path))
    assert config.epochs == 7
    assert config.lr_for("emotion_recognizer") == 5e-4
    assert config.lr_for("groove_predictor") == 1e-3
    assert config.weight_decay_for("emotion_recognizer") == 1e-5
    assert config.architecture_for("emotion_recognizer") == {"fc1": 64, "fc2": 256, "lstm": 128}
    # An explicit flag wins over the file.
    assert TrainConfig(**{**load_training_config(path), "lr": 0.01}).lr_for("emotion_recognizer") == 0.01


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"drum_machine": {}}'])
def test_bad_config_files_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(ConfigError):
        load_training_config(path)

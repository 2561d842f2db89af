"""Training configuration: one dataclass with validated bounds, plus the seed's training_config.json shape."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ml.errors import ConfigError
from ml.models.registry import get_spec, validate_architecture
from ml.normalize import NORMALIZER_MODES

DEVICES = ("auto", "cpu", "cuda", "mps")
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 65_536
DEFAULT_LR = 1e-3
DEFAULT_WEIGHT_DECAY = 0.01  # AdamW, decoupled, weight matrices only
SCHEDULES = ("cosine", "plateau", "constant")  # the learning-rate schedules of ml.train.optim


@dataclass
class AugmentationConfig:
    """Training-split augmentation; every field 0 / False means off. Applied deterministically from the seed."""

    mel_noise_std: float = 0.0  # gaussian noise in dB on the raw log-mel windows, before normalization (fast path)
    mel_gain_db: float = 0.0  # random global gain on log-mel features, +/- dB
    pitch_shift_semitones: int = 0  # audio pitch shift range, +/- semitones (cached per shift)
    time_stretch: float = 0.0  # audio time-stretch range, rate in 1 +/- this
    noise_snr_db: float = 0.0  # audio noise injection at this SNR (0 = off)
    transpose_semitones: int = 0  # MIDI transposition range, +/- semitones
    tempo_scale: float = 0.0  # MIDI tempo scaling range, 1 +/- this
    note_dropout: float = 0.0  # note-probability augmentation: drop this fraction of target notes
    copies: int = 0  # augmented copies per training sample


@dataclass
class TrainConfig:
    """Hyperparameters of one training run; names match the CLI flags and the REST job params."""

    epochs: int = 50
    batch_size: int = 64
    lr: float | None = None  # None: the model's learning_rate from training_config.json, else 1e-3
    weight_decay: float | None = None  # None: the model's weight_decay from training_config.json, else 0.01
    lr_schedule: str = "cosine"  # cosine | plateau | constant, each after a linear warm-up
    warmup_epochs: float = 1.0  # linear warm-up length in epochs (0 = none)
    min_lr_ratio: float = 0.1  # cosine: the last step's rate as a share of lr
    plateau_patience: int = 3  # plateau: epochs without improvement before the rate halves
    grad_clip: float = 1.0  # global L2 norm the gradients are clipped to (0 = off)
    val_split: float = 0.2
    test_split: float = 0.2  # held-out test share of source groups when the data set publishes no test split
    early_stopping_patience: int = 10
    min_delta: float = 1e-3
    checkpoint_every: int = 10
    seed: int = 42
    device: str = "auto"
    threads: int = 1
    normalize: str = "standard"
    synthetic_samples: int = 4096
    lookahead_seconds: float = 0.0  # dynamics_engine: how far past a note's onset its inputs may look (0 = causal)
    architecture: dict[str, dict[str, int]] = field(default_factory=dict)
    learning_rates: dict[str, float] = field(default_factory=dict)
    weight_decays: dict[str, float] = field(default_factory=dict)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)

    def __post_init__(self) -> None:
        if isinstance(self.augmentation, dict):
            self.augmentation = _augmentation_from_dict(self.augmentation)
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError with one line naming the first bad value."""
        _int_in("epochs", self.epochs, 1, MAX_EPOCHS)
        _int_in("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        _int_in("early_stopping_patience", self.early_stopping_patience, 0, MAX_EPOCHS)
        _int_in("checkpoint_every", self.checkpoint_every, 0, MAX_EPOCHS)
        _int_in("seed", self.seed, 0, 2**32 - 1)
        _int_in("threads", self.threads, 1, 256)
        _int_in("synthetic_samples", self.synthetic_samples, 16, 1_000_000)
        if self.lr is not None:
            _float_in("lr", self.lr, 0.0, 10.0, low_open=True)
        if self.weight_decay is not None:
            _float_in("weight_decay", self.weight_decay, 0.0, 1.0)
        _float_in("val_split", self.val_split, 0.0, 1.0, low_open=True, high_open=True)
        _float_in("test_split", self.test_split, 0.0, 1.0, low_open=True, high_open=True)
        if self.val_split + self.test_split >= 1.0:
            raise ConfigError(
                f"val_split + test_split must leave data to train on, got {self.val_split} + {self.test_split}"
            )
        _float_in("min_delta", self.min_delta, 0.0, 1e6)
        if self.lr_schedule not in SCHEDULES:
            raise ConfigError(f"lr_schedule must be one of {', '.join(SCHEDULES)}, got {self.lr_schedule!r}")
        _float_in("warmup_epochs", self.warmup_epochs, 0.0, MAX_EPOCHS)
        _float_in("min_lr_ratio", self.min_lr_ratio, 0.0, 1.0)
        _int_in("plateau_patience", self.plateau_patience, 0, MAX_EPOCHS)
        _float_in("grad_clip", self.grad_clip, 0.0, 1e6)
        _float_in("lookahead_seconds", self.lookahead_seconds, 0.0, 2.0)
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.normalize not in NORMALIZER_MODES:
            raise ConfigError(f"normalize must be one of {', '.join(NORMALIZER_MODES)}, got {self.normalize!r}")
        for key, arch in self.architecture.items():
            validate_architecture(key, arch)
        for key, value in self.learning_rates.items():
            get_spec(key)
            _float_in(f"{key}.learning_rate", value, 0.0, 10.0, low_open=True)
        for key, value in self.weight_decays.items():
            get_spec(key)
            _float_in(f"{key}.weight_decay", value, 0.0, 1.0)

    def lr_for(self, model_key: str) -> float:
        """The learning rate for one model: explicit --lr, else its configured rate, else 1e-3."""
        return self.lr if self.lr is not None else self.learning_rates.get(model_key, DEFAULT_LR)

    def weight_decay_for(self, model_key: str) -> float:
        """The weight decay for one model: explicit value, else its configured one, else DEFAULT_WEIGHT_DECAY."""
        if self.weight_decay is not None:
            return self.weight_decay
        return self.weight_decays.get(model_key, DEFAULT_WEIGHT_DECAY)

    def architecture_for(self, model_key: str) -> dict[str, int]:
        """The validated architecture (defaults merged with overrides) for one model."""
        return validate_architecture(model_key, self.architecture.get(model_key))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (stored in checkpoints and metrics)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict, refusing unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown training option(s): {', '.join(unknown)}")
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"invalid training options: {exc}") from None


def _augmentation_from_dict(values: dict[str, Any]) -> AugmentationConfig:
    known = {f.name for f in fields(AugmentationConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown augmentation option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    aug = AugmentationConfig(**values)
    for name in known:
        value = getattr(aug, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise ConfigError(f"augmentation.{name} must be a number in 0..100, got {value!r}")
    if aug.copies > 16:
        raise ConfigError(f"augmentation.copies must be at most 16, got {aug.copies}")
    return aug


def _int_in(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer in {low}..{high}, got {value!r}")


def _float_in(
    name: str, value: object, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise ConfigError(f"{name} must be a number in {lo}{low}, {high}{hi}, got {value!r}")


def load_training_config(path: Path) -> dict[str, Any]:
    """Read the seed's training_config.json into TrainConfig keyword overrides.

    Shape: `{"<model_key>": {"architecture": {...}, "learning_rate": x, "weight_decay": y}, ...}`, optionally
    nested under `"models"`, with optional top-level `"training"` holding TrainConfig fields.
    """
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    models = raw.get("models", {k: v for k, v in raw.items() if k != "training"})
    overrides: dict[str, Any] = dict(raw.get("training", {}))
    architecture: dict[str, dict[str, int]] = {}
    learning_rates: dict[str, float] = {}
    weight_decays: dict[str, float] = {}
    for key, section in models.items():
        get_spec(key)
        if not isinstance(section, dict):
            raise ConfigError(f"config {path}: section {key!r} must be an object")
        if "architecture" in section:
            architecture[key] = validate_architecture(key, section["architecture"])
        if "learning_rate" in section:
            learning_rates[key] = section["learning_rate"]
        if "weight_decay" in section:
            weight_decays[key] = section["weight_decay"]
    overrides.update(architecture=architecture, learning_rates=learning_rates, weight_decays=weight_decays)
    return overrides

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


@dataclass(frozen=True)
class Bound:
    """The accepted range of one numeric option; TrainConfig.validate and the API's schema (app/params.py) read it."""

    low: float
    high: float
    integer: bool = False
    low_open: bool = False
    high_open: bool = False
    nullable: bool = False  # None means "the model's own value" (lr, weight_decay)

    def check(self, name: str, value: object) -> None:
        """Raise ConfigError naming `name` unless `value` is in range (bools are never numbers)."""
        if value is None and self.nullable:
            return
        if self.integer:
            _int_in(name, value, int(self.low), int(self.high))
        else:
            _float_in(name, value, self.low, self.high, low_open=self.low_open, high_open=self.high_open)


# The one statement of every numeric option's range: validate() enforces it, app/params.py publishes it.
BOUNDS: dict[str, Bound] = {
    "epochs": Bound(1, MAX_EPOCHS, integer=True),
    "batch_size": Bound(1, MAX_BATCH_SIZE, integer=True),
    "lr": Bound(0.0, 10.0, low_open=True, nullable=True),
    "weight_decay": Bound(0.0, 1.0, nullable=True),
    "warmup_epochs": Bound(0.0, MAX_EPOCHS),
    "min_lr_ratio": Bound(0.0, 1.0),
    "plateau_patience": Bound(0, MAX_EPOCHS, integer=True),
    "grad_clip": Bound(0.0, 1e6),
    "val_split": Bound(0.0, 1.0, low_open=True, high_open=True),
    "test_split": Bound(0.0, 1.0, low_open=True, high_open=True),
    "early_stopping_patience": Bound(0, MAX_EPOCHS, integer=True),
    "min_delta": Bound(0.0, 1e6),
    "checkpoint_every": Bound(0, MAX_EPOCHS, integer=True),
    "seed": Bound(0, 2**32 - 1, integer=True),
    "threads": Bound(1, 256, integer=True),
    "synthetic_samples": Bound(16, 1_000_000, integer=True),
    "lookahead_seconds": Bound(0.0, 2.0),
}
CHOICES: dict[str, tuple[str, ...]] = {"lr_schedule": SCHEDULES, "device": DEVICES, "normalize": NORMALIZER_MODES}
# Per-model maps: learning_rates[key] and weight_decays[key] take the ranges of lr and weight_decay.
PER_MODEL: dict[str, Bound] = {"learning_rates": Bound(0.0, 10.0, low_open=True), "weight_decays": Bound(0.0, 1.0)}
AUGMENTATION_BOUNDS: dict[str, Bound] = {
    "mel_noise_std": Bound(0.0, 100.0),
    "mel_gain_db": Bound(0.0, 100.0),
    "pitch_shift_semitones": Bound(0, 100, integer=True),
    "time_stretch": Bound(0.0, 100.0),
    "noise_snr_db": Bound(0.0, 100.0),
    "transpose_semitones": Bound(0, 100, integer=True),
    "tempo_scale": Bound(0.0, 100.0),
    "note_dropout": Bound(0.0, 100.0),
    "copies": Bound(0, 16, integer=True),
}


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
        elif not isinstance(self.augmentation, AugmentationConfig):  # a string or list would fail in the worker
            raise ConfigError(f"augmentation must be an object of options, got {self.augmentation!r}")
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError with one line naming the first bad value."""
        for name, bound in BOUNDS.items():
            bound.check(name, getattr(self, name))
        if self.val_split + self.test_split >= 1.0:
            raise ConfigError(
                f"val_split + test_split must leave data to train on, got {self.val_split} + {self.test_split}"
            )
        for name, choices in CHOICES.items():
            if getattr(self, name) not in choices:
                raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        _mapping("architecture", self.architecture)
        for key, arch in self.architecture.items():
            _mapping(f"architecture.{key}", arch)
            validate_architecture(key, arch)
        for name, bound in PER_MODEL.items():
            values = getattr(self, name)
            _mapping(name, values)
            for key, value in values.items():
                get_spec(key)
                bound.check(f"{key}.{'learning_rate' if name == 'learning_rates' else 'weight_decay'}", value)

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
    for name, bound in AUGMENTATION_BOUNDS.items():
        bound.check(f"augmentation.{name}", getattr(aug, name))
    return aug


def _mapping(name: str, value: object) -> None:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise ConfigError(f"{name} must be an object keyed by name, got {value!r}")


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

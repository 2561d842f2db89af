"""The plugin's five networks. Defaults are the shipped architectures; hidden sizes are configurable.

Architecture keys are layer names and values are that layer's output size, e.g. `{"fc1": 512, "fc2": 256,
"lstm": 128}` for emotion_recognizer. Input and output sizes are fixed: they are the plugin's contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from ml.emotion import EMBEDDING_SIZE
from ml.models.layers import DenseSpec, LayerSpec, LayerStack, RecurrentSpec
from ml.models.registry import MODELS


class EmotionRecognizer(LayerStack):
    """128 log-mel features -> 64 emotion embedding: fc1 tanh, fc2 tanh, LSTM (one step), fc3 tanh."""

    key = "emotion_recognizer"
    input_size_fixed = MODELS[key].input_size
    output_size_fixed = MODELS[key].output_size
    default_architecture: ClassVar[Mapping[str, int]] = MODELS[key].default_architecture

    def __init__(self, fc1: int = 512, fc2: int = 256, lstm: int = 128) -> None:
        specs: list[LayerSpec] = [
            DenseSpec("fc1", 128, fc1, "tanh"),
            DenseSpec("fc2", fc1, fc2, "tanh"),
            RecurrentSpec("lstm", "lstm", fc2, lstm),
            DenseSpec("fc3", lstm, EMBEDDING_SIZE, "tanh"),
        ]
        super().__init__(specs)


class MelodyTransformer(LayerStack):
    """64 context values (emotion, mode, previous 4 bars) -> 128 key-relative note probabilities: fc1 relu, LSTM
    (one step), fc2 relu, fc3 sigmoid."""

    key = "melody_transformer"
    input_size_fixed = MODELS[key].input_size
    output_size_fixed = MODELS[key].output_size
    default_architecture: ClassVar[Mapping[str, int]] = MODELS[key].default_architecture

    def __init__(self, fc1: int = 256, lstm: int = 256, fc2: int = 256) -> None:
        specs: list[LayerSpec] = [
            DenseSpec("fc1", EMBEDDING_SIZE, fc1, "relu"),
            RecurrentSpec("lstm", "lstm", fc1, lstm),
            DenseSpec("fc2", lstm, fc2, "relu"),
            DenseSpec("fc3", fc2, 128, "sigmoid"),
        ]
        super().__init__(specs)


class HarmonyPredictor(LayerStack):
    """64 emotion + 64 chord context -> 64-class next-chord distribution: tanh, tanh, softmax."""

    key = "harmony_predictor"
    input_size_fixed = MODELS[key].input_size
    output_size_fixed = MODELS[key].output_size
    default_architecture: ClassVar[Mapping[str, int]] = MODELS[key].default_architecture

    def __init__(self, fc1: int = 256, fc2: int = 128) -> None:
        specs: list[LayerSpec] = [
            DenseSpec("fc1", EMBEDDING_SIZE + 64, fc1, "tanh"),
            DenseSpec("fc2", fc1, fc2, "tanh"),
            DenseSpec("fc3", fc2, 64, "softmax"),
        ]
        super().__init__(specs)


class DynamicsEngine(LayerStack):
    """32 performance-context features -> 16 expression parameters in [0, 1]: relu, relu, sigmoid."""

    key = "dynamics_engine"
    input_size_fixed = MODELS[key].input_size
    output_size_fixed = MODELS[key].output_size
    default_architecture: ClassVar[Mapping[str, int]] = MODELS[key].default_architecture

    def __init__(self, fc1: int = 128, fc2: int = 64) -> None:
        specs: list[LayerSpec] = [
            DenseSpec("fc1", 32, fc1, "relu"),
            DenseSpec("fc2", fc1, fc2, "relu"),
            DenseSpec("fc3", fc2, 16, "sigmoid"),
        ]
        super().__init__(specs)


class GroovePredictor(LayerStack):
    """64 emotion embedding -> 32 groove parameters in [-1, 1]: tanh, tanh, tanh."""

    key = "groove_predictor"
    input_size_fixed = MODELS[key].input_size
    output_size_fixed = MODELS[key].output_size
    default_architecture: ClassVar[Mapping[str, int]] = MODELS[key].default_architecture

    def __init__(self, fc1: int = 128, fc2: int = 64) -> None:
        specs: list[LayerSpec] = [
            DenseSpec("fc1", EMBEDDING_SIZE, fc1, "tanh"),
            DenseSpec("fc2", fc1, fc2, "tanh"),
            DenseSpec("fc3", fc2, 32, "tanh"),
        ]
        super().__init__(specs)

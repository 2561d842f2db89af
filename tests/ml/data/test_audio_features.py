"""Log-mel parity with librosa, the window definition, and decoding (mixdown, one resampling, fallback)."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from ml.data.audio import decode
from ml.data.audio.features import FEATURE_SETTINGS, clip_features, log_mel, mel_basis, window_vectors
from ml.errors import DataError
from tests.fixtures.audio_sets import tone


def _librosa_db(y: np.ndarray) -> np.ndarray:
    mel = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=2048, hop_length=512, n_mels=128)
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)


@pytest.mark.parametrize("kind", ["tone", "noise", "silence-and-click", "odd-length"])
def test_log_mel_equals_librosa_to_1e4_db(kind: str) -> None:
    rng = np.random.default_rng(3)
    y = {
        "tone": tone(4.0, 22050, 0.4, seed=1),
        "noise": (0.3 * rng.normal(size=22050 * 2)).astype(np.float32),
        "silence-and-click": np.r_[np.zeros(11025), [1.0], np.zeros(11025)].astype(np.float32),
        "odd-length": tone(1.2345, 22050, 0.9, seed=2),
    }[kind]
    ours, expected = log_mel(y), _librosa_db(y)
    assert ours.shape == expected.shape == (128, 1 + len(y) // 512)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-4)


def test_the_mel_basis_is_built_once() -> None:
    assert mel_basis() is mel_basis()
    np.testing.assert_array_equal(mel_basis(), librosa.filters.mel(sr=22050, n_fft=2048, n_mels=128))


def test_windows_are_3s_means_every_1_5s() -> None:
    mel = np.arange(128 * 400, dtype=np.float32).reshape(128, 400)
    windows = window_vectors(mel)
    assert windows.shape == (len(range(0, 400 - 129 + 1, 65)), 128)  # 129 frames = 3 s, 65 frames = 1.5 s
    np.testing.assert_allclose(windows[1], mel[:, 65:194].mean(axis=1))
    short = window_vectors(mel[:, :50])  # under 3 s: one window over everything
    np.testing.assert_allclose(short, mel[:, :50].mean(axis=1)[None, :])
    assert FEATURE_SETTINGS["window_s"] == 3.0 and FEATURE_SETTINGS["window_hop_s"] == 1.5


def test_clip_features_are_the_window_means_of_the_log_mel() -> None:
    y = tone(10.0, 22050, 0.5, seed=4)
    windows = clip_features(y)
    assert windows.shape == (5, 128) and windows.dtype == np.float32
    np.testing.assert_allclose(windows[0], _librosa_db(y)[:, :129].mean(axis=1), atol=1e-4)


def test_brighter_audio_has_more_high_band_energy() -> None:
    dark, bright = clip_features(tone(4.0, 22050, 0.1, seed=1)), clip_features(tone(4.0, 22050, 0.9, seed=1))
    centres = librosa.mel_frequencies(n_mels=130, fmax=11025)[1:-1]
    upper = (centres > 400) & (centres < 900)  # the tone's upper partials (330..880 Hz)
    assert bright[:, upper].mean() > dark[:, upper].mean() + 10.0


def test_decoding_mixes_down_and_resamples_once_like_librosa_load(tmp_path: Path) -> None:
    path = tmp_path / "stereo44k.wav"
    sf.write(path, tone(3.0, 44100, 0.5, seed=6, channels=2), 44100, subtype="FLOAT")
    ours = decode.load_audio(path)
    theirs, sr = librosa.load(path, sr=22050, mono=True, res_type="soxr_hq")
    assert sr == 22050 and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    part = decode.load_audio(path, offset=1.0, duration=1.0)
    np.testing.assert_allclose(part[2000:20000], ours[22050 + 2000 : 22050 + 20000], atol=1e-3)
    assert decode.audio_info(path) == (pytest.approx(3.0), 44100)


def test_audioread_fallback_decodes_16_bit_blocks(tmp_path: Path) -> None:
    path = tmp_path / "pcm16.wav"
    sf.write(path, tone(2.0, 22050, 0.5, seed=7, channels=2), 22050, subtype="PCM_16")
    mono, sr = decode._audioread_decode(path, 0.5, 1.0)
    reference = sf.read(path, dtype="float32")[0].mean(axis=1)[11025 : 11025 + 22050]
    assert sr == 22050 and mono.shape == reference.shape
    np.testing.assert_allclose(mono, reference, atol=1e-6)


def test_undecodable_files_raise_data_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"ID3\x03\x00\x00\x00" + bytes(range(256)) * 8)
    with pytest.raises(DataError, match="unreadable audio"):
        decode.audio_info(junk)
    with pytest.raises(DataError, match="cannot decode"):
        decode.load_audio(junk)
    m4a = tmp_path / "phone.m4a"
    m4a.write_bytes(b"\x00\x00\x00\x18ftypM4A " + bytes(200))
    with pytest.raises(DataError):
        decode.audio_info(m4a)

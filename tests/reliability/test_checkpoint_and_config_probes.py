"""Checkpoints and configs against the probes of issue 15: flipped bytes and wrong shapes are
errors naming the file and the tensor; hostile YAML is a clear error with the line; a data path
that is not what its source reads fails ``ash validate``, not ``ash train``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from ash import checkpoint as ckpt
from ash.cli.main import app
from ash.config import ConfigError, load_experiment

REPO = Path(__file__).resolve().parents[2]


def _saved_linear(path: Path) -> nn.Linear:
    torch.manual_seed(0)
    model = nn.Linear(64, 32)
    ckpt.save_checkpoint({"model": model.state_dict(), "step": 3}, path)
    return model


def test_flipped_bytes_inside_a_tensor_are_caught_on_load(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    model = _saved_linear(path)
    data = bytearray(path.read_bytes())
    weight = model.weight.detach().numpy().tobytes()
    at = bytes(data).find(weight)
    assert at > 0, "the tensor is stored uncompressed in the archive"
    for i in range(16):  # 16 flipped bytes in the middle of the weight
        data[at + 1000 + i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError, match=r"last\.pt is corrupt: the content of model"):
        ckpt.load_checkpoint(path)


def test_a_checkpoint_of_another_shape_names_the_tensor(tmp_path: Path) -> None:
    path = tmp_path / "best.pt"
    _saved_linear(path)
    other = nn.Linear(64, 16)
    state = ckpt.load_checkpoint(path)
    with pytest.raises(
        ckpt.CheckpointError, match=r"tensor weight is \[32, 64\] in the checkpoint"
    ):
        ckpt.load_weights(other, state["model"], path)
    with pytest.raises(ckpt.CheckpointError, match="holds no model weights"):
        ckpt.load_weights(other, {"weight": [1, 2]}, path)


def test_a_checkpoint_without_checksums_loads_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    torch.save({"format": ckpt.FORMAT, "format_version": 1, "step": 1}, path)
    with pytest.warns(UserWarning, match="loaded unverified"):
        assert ckpt.load_checkpoint(path)["step"] == 1
    torch.save({"format": ckpt.FORMAT, "format_version": 2, "step": 1}, path)
    with pytest.raises(ckpt.CheckpointError, match="has no checksums"):
        ckpt.load_checkpoint(path)


def _config_error(path: Path, overrides: list[str] | None = None) -> str:
    with pytest.raises(ConfigError) as err:
        load_experiment(path, overrides)
    return err.value.format()


LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("laughs.yaml", LAUGHS.encode(), "expands to more than 100,000 values"),
        ("latin1.yaml", b"name: caf\xe9\n", r"latin1\.yaml:1: .*not UTF-8 text \(byte 0xe9"),
        ("deep.yaml", ("x: " + "[" * 5000 + "]" * 5000 + "\n").encode(), "nested deeper than 64"),
        (
            "dup.yaml",
            b"name: d\ntrain:\n  epochs: 1\nseed: 1\ntrain:\n  epochs: 2\n",
            "duplicate key 'train': first at line 2, again at line 5",
        ),
        ("self.yaml", b"a: &a [1, *a]\n", "refers to itself"),
    ],
)
def test_hostile_yaml_is_a_clear_error_with_the_line(
    tmp_path: Path, name: str, text: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(text)
    assert re.search(expected, _config_error(path))


def test_hostile_set_values_are_bounded_too() -> None:
    lol = "[" + ",".join(["lol"] * 9) + "]"
    levels = [f"&a {lol}"] + [
        f"&{c} [{','.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    message = _config_error(REPO / "configs" / "default.yaml", [f"seed=[{', '.join(levels)}]"])
    assert "--set" in message and "expands to more than 100,000 values" in message


def test_validate_refuses_a_data_path_that_is_not_a_duckdb_store(tmp_path: Path) -> None:
    not_a_store = tmp_path / "trades.csv"
    not_a_store.write_text("ts,symbol,price,size\n")
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "validate",
            str(REPO / "configs" / "spy.yaml"),
            "--set",
            f"data.source.path={not_a_store}",
        ],
    )
    assert result.exit_code == 1
    assert "is not a DuckDB database" in result.output and str(not_a_store) in result.output
    missing = runner.invoke(
        app,
        ["validate", str(REPO / "configs" / "spy.yaml"), "--set", "data.source.path=nope.duckdb"],
    )
    assert missing.exit_code == 1 and "no DuckDB store here" in missing.output

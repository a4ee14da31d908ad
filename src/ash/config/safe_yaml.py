"""Bounded YAML reading for experiments and ``--set`` values.

PyYAML's safe loader still lets a 1 KB file expand through aliases into billions of values
(billion laughs: ``MemoryError`` after 14 s), recurses once per nesting level (a 5,000-deep list:
``RecursionError``) and keeps the last of two equal keys without a word. Here, before anything
is built: the text must be UTF-8 and at most :data:`MAX_FILE_BYTES`; the event stream (PyYAML's
parser is iterative) must nest at most :data:`MAX_DEPTH` levels; the composed node graph must
expand to at most :data:`MAX_VALUES` values, without recursive aliases; and no mapping may
repeat a key. Each failure is a :class:`ConfigError` with the file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ash.config.errors import ConfigError, ConfigIssue

MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_VALUES = 100_000
MERGE_TAG = "tag:yaml.org,2002:merge"


def _fail(message: str, where: str, path: str = "") -> ConfigError:
    return ConfigError([ConfigIssue(path, message, location=where)])


def _at(where: str, mark: Any) -> str:
    return f"{where}:{mark.line + 1}" if mark is not None else where


def decode_utf8(raw: bytes, where: str) -> str:
    """The text of ``raw``; a clear error naming the line of the first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _fail(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8",
            f"{where}:{line}",
        ) from None


def _check_depth(text: str, where: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _fail(
                    f"nested deeper than {MAX_DEPTH} levels; an experiment is a shallow mapping",
                    _at(where, event.start_mark),
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_graph(root: yaml.Node, where: str) -> None:
    """Expanded size (aliases count every time they are used), recursive aliases, duplicate keys;
    iterative, each node visited once."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] > MAX_VALUES:
                raise _fail(
                    f"expands to more than {MAX_VALUES:,} values through YAML aliases (&/*); "
                    "write the values out instead",
                    _at(where, node.start_mark),
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _fail(
                "a YAML alias refers to itself (a recursive structure)", _at(where, node.start_mark)
            )
        on_path.add(key)
        if isinstance(node, yaml.MappingNode):
            _check_duplicate_keys(node, where)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)


def _check_duplicate_keys(node: yaml.MappingNode, where: str) -> None:
    seen: dict[str, yaml.Node] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == MERGE_TAG:
            continue
        first = seen.setdefault(str(key_node.value), key_node)
        if first is not key_node:
            raise _fail(
                f"duplicate key {key_node.value!r}: first at line {first.start_mark.line + 1}, "
                f"again at line {key_node.start_mark.line + 1} (YAML would silently keep the "
                "second); merge the two blocks into one",
                _at(where, key_node.start_mark),
                str(key_node.value),
            )


def load_yaml_text(text: str, *, where: str, path: str = "") -> Any:
    """Parse one YAML document within the bounds above; return its value."""
    data, _ = _load(text, where, path)
    return data


def read_yaml_file(file: Path) -> tuple[Any, yaml.Node | None]:
    """Parse the YAML file ``file`` within the bounds above; return its value and node tree."""
    size = file.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _fail(
            f"the file is {size:,} bytes; an experiment is at most {MAX_FILE_BYTES:,} bytes",
            str(file),
        )
    return _load(decode_utf8(file.read_bytes(), str(file)), str(file), "")


def _load(text: str, where: str, path: str) -> tuple[Any, yaml.Node | None]:
    try:
        _check_depth(text, where)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return None, None
        _check_graph(node, where)
        loader = yaml.SafeLoader(text)
        try:
            return loader.construct_document(node), node
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        problem = exc.problem or str(exc)
        raise _fail(f"malformed YAML: {problem}; fix the syntax", at, path) from None
    except yaml.YAMLError as exc:
        raise _fail(f"malformed YAML: {exc}", where, path) from None

"""Reading a camera config file: every problem with its line and column, and the files it names checked.

:func:`validate_config_file` reports every problem with its line and column in the YAML (by composing the
YAML node tree and following pydantic's error locations through it). Relative paths are relative to the
config file. :func:`check_files` checks the key, model, video and token files a config names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from detector.config.camera import CameraConfig
from detector.config.sources import FileSource
from nitrosignal.keys import KeyFileError, check_secret_permissions, load_public


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, with where it is."""

    location: str
    line: int | None
    column: int | None
    message: str

    def format(self, file_name: str) -> str:
        """``file:line:column: location: message``, as editors and CI logs understand it."""
        where = f"{file_name}:{self.line}:{self.column}" if self.line is not None else file_name
        return f"{where}: {self.location or '(top level)'}: {self.message}"


class ConfigError(ValueError):
    """A config file that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, path: Path, issues: list[ConfigIssue]) -> None:
        super().__init__("\n".join(issue.format(str(path)) for issue in issues))
        self.path = path
        self.issues = issues


def _node_for(root: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """Follow a pydantic error location through the YAML node tree as far as it goes."""
    node = root
    marked = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((pair for pair in node.value if getattr(pair[0], "value", None) == str(part)), None)
            if match is None:
                continue  # a union tag ('file') or a missing key: stay on the enclosing mapping
            marked, node = match[0], match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = marked = node.value[part]
    return marked


def _duplicate_keys(node: yaml.Node, path: str = "") -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                issues.append(
                    ConfigIssue(f"{path}{name}", key.start_mark.line + 1, key.start_mark.column + 1, "duplicate key")
                )
            seen.add(name)
            issues.extend(_duplicate_keys(value, f"{path}{name}."))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            issues.extend(_duplicate_keys(item, f"{path}{index}."))
    return issues


def _issue(root: yaml.Node | None, loc: tuple[int | str, ...], message: str) -> ConfigIssue:
    node = _node_for(root, loc)
    dotted = ".".join(str(part) for part in loc)
    if node is None:
        return ConfigIssue(dotted, None, None, message)
    return ConfigIssue(dotted, node.start_mark.line + 1, node.start_mark.column + 1, message)


def _resolve_paths(config: CameraConfig, base: Path) -> CameraConfig:
    def resolve(path: Path) -> Path:
        path = path.expanduser()
        return path if path.is_absolute() else (base / path).resolve()

    updates: dict[str, Any] = {
        "secret_key_file": resolve(config.secret_key_file),
        "platform": config.platform.model_copy(update={"public_key_file": resolve(config.platform.public_key_file)}),
        "outbox": config.outbox.model_copy(update={"path": resolve(config.outbox.path)}),
    }
    if config.metrics.token_file is not None:
        updates["metrics"] = config.metrics.model_copy(update={"token_file": resolve(config.metrics.token_file)})
    if config.model_path is not None:
        updates["model_path"] = resolve(config.model_path)
    if config.model_signing_keys:
        updates["model_signing_keys"] = tuple(resolve(key) for key in config.model_signing_keys)
    if isinstance(config.source, FileSource):
        updates["source"] = config.source.model_copy(update={"path": resolve(config.source.path)})
    return config.model_copy(update=updates)


MIN_METRICS_TOKEN_LENGTH = 32


def read_metrics_token(path: Path) -> str:
    """The metrics bearer token from its file, refused when others may read it or when it is short.

    Raises:
        KeyFileError: if the file is missing, readable by group or others, or holds under 32 characters.
    """
    try:
        mode = path.stat().st_mode
        token = path.read_text().strip()
    except OSError as exc:
        raise KeyFileError(f"cannot read metrics token file {path}: {exc.strerror}") from exc
    if mode & 0o077:
        raise KeyFileError(f"metrics token file {path} has mode {mode & 0o777:04o}; it must be 0600 or stricter")
    if len(token) < MIN_METRICS_TOKEN_LENGTH or any(char.isspace() for char in token):
        raise KeyFileError(
            f"metrics token in {path} must be one word of at least {MIN_METRICS_TOKEN_LENGTH} characters "
            "(for example: openssl rand -hex 32)"
        )
    return token


def check_files(config: CameraConfig) -> list[ConfigIssue]:
    """Check the files a config names: keys readable and safe, model and video present.

    Returns:
        Issues without YAML positions (the caller adds them); empty when all is well.
    """
    issues: list[ConfigIssue] = []
    try:
        check_secret_permissions(config.secret_key_file)
    except KeyFileError as exc:
        issues.append(ConfigIssue("secret_key_file", None, None, str(exc)))
    try:
        load_public(config.platform.public_key_file)
    except KeyFileError as exc:
        issues.append(ConfigIssue("platform.public_key_file", None, None, str(exc)))
    if config.metrics.enabled and config.metrics.token_file is not None:
        try:
            read_metrics_token(config.metrics.token_file)
        except KeyFileError as exc:
            issues.append(ConfigIssue("metrics.token_file", None, None, str(exc)))
    if config.model_path is not None and not config.model_path.is_file():
        issues.append(ConfigIssue("model_path", None, None, f"model file {config.model_path} does not exist"))
    for index, key in enumerate(config.model_signing_keys):
        if not key.is_file():
            issues.append(ConfigIssue(f"model_signing_keys.{index}", None, None, f"public key {key} does not exist"))
    if isinstance(config.source, FileSource) and not config.source.path.is_file():
        issues.append(ConfigIssue("source.path", None, None, f"video file {config.source.path} does not exist"))
    return issues


def validate_config_file(path: Path, *, with_files: bool = True) -> tuple[CameraConfig | None, list[ConfigIssue]]:
    """Read and validate a config file, collecting every problem with its YAML location.

    Args:
        path: the YAML file.
        with_files: also check the key, model and video files it names.

    Returns:
        The effective config (None if the YAML itself is invalid) and the list of issues (empty when OK).
    """
    try:
        text = path.read_text()
    except OSError as exc:
        return None, [ConfigIssue("", None, None, f"cannot read config: {exc}")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        return None, [ConfigIssue("", line, column, f"YAML syntax: {exc.problem}")]
    if not isinstance(data, dict):
        return None, [ConfigIssue("", 1, 1, f"expected a mapping of settings, got {type(data).__name__}")]
    issues = _duplicate_keys(root) if root is not None else []
    try:
        config = CameraConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            if error["type"] == "union_tag_invalid":
                loc = (*loc, "type")  # point at the offending `type:` line, not the whole block
            issues.append(_issue(root, loc, error["msg"]))
        return None, issues
    config = _resolve_paths(config, path.resolve().parent)
    if with_files:
        for problem in check_files(config):
            loc = tuple(problem.location.split("."))
            issues.append(_issue(root, loc, problem.message))
    return (None if issues else config), issues


def load_config(path: Path, *, with_files: bool = True) -> CameraConfig:
    """Load a config file, raising :class:`ConfigError` with every issue if it is not usable."""
    config, issues = validate_config_file(path, with_files=with_files)
    if config is None:
        raise ConfigError(path, issues)
    return config

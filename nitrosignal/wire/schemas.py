"""Generate the JSON Schema files in ``docs/schemas/`` from the wire models.

Run ``python -m nitrosignal.wire.schemas docs/schemas`` after changing a message; a test fails while the
committed files differ from the models, so the published contract can never drift from the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from nitrosignal.wire.messages import Ack, Alert, Heartbeat

SCHEMA_FILES: dict[str, type[BaseModel]] = {
    "alert.schema.json": Alert,
    "heartbeat.schema.json": Heartbeat,
    "ack.schema.json": Ack,
}


def render(model: type[BaseModel]) -> str:
    """Return the JSON Schema of one message as stable, pretty-printed text."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["additionalProperties"] = False
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_all(directory: Path) -> list[Path]:
    """Write every schema file into ``directory`` and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMA_FILES.items():
        path = directory / name
        path.write_text(render(model))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")):
        print(written_path)

"""``config_hash``: keyed with the device's secret, the same on the device and at provisioning.

The platform will compare a camera's heartbeat ``config_hash`` with the value registered when it was
provisioned, so provisioning (which creates the camera's key and writes ``camera.yaml``) must compute the
same value from its config dictionary that the detector computes from the file on the device.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from nitrosignal.confighash import canonical_json, config_hash, config_hash_of_yaml


def _secret() -> bytes:
    return zmq.curve_keypair()[1]


def test_provisioning_and_the_device_compute_the_same_value(tmp_path: Path) -> None:
    provision = pytest.importorskip("nitroplatform.ops.provision")
    request = provision.ProvisionRequest(
        camera_id="cam-7",
        endpoint="tcp://10.0.0.1:5555",
        output_dir=tmp_path,
        schedule=[{"days": ["fri", "sat"], "start": "20:00", "end": "04:00"}],
    )
    document = provision.camera_document(request)
    secret = _secret()
    registered = config_hash(document, secret)  # what provisioning can register
    # camera.yaml as provisioning writes it: a comment header, then the dictionary dumped in its order.
    written = "# Camera cam-7, provisioned\n" + yaml.safe_dump(document, sort_keys=False)
    (tmp_path / "camera.yaml").write_text(written)
    from detector.config import load_config  # the device side: the detector's own loader

    on_device = load_config(tmp_path / "camera.yaml", with_files=False).config_hash(secret)
    assert on_device == registered == config_hash_of_yaml(written, secret)


def test_the_hash_is_useless_without_the_device_key() -> None:
    document = {"camera_id": "cam-1", "source": {"type": "rtsp", "url": "rtsp://admin:hunter2@10.0.0.2/s"}}
    keyed = config_hash(document, _secret())
    assert keyed != config_hash(document, _secret())  # another device, another value
    # Not any plain hash an observer could recompute from a guessed config (password included).
    assert keyed != hashlib.sha256(canonical_json(document)).hexdigest()
    assert keyed != hashlib.sha256(yaml.safe_dump(document).encode()).hexdigest()


@pytest.mark.parametrize(
    ("secret", "message"),
    [(b"short", "40 characters"), (b"x" * 41, "40 characters")],
)
def test_a_wrong_key_is_refused(secret: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config_hash({"camera_id": "cam-1"}, secret)


documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=8), documents, max_size=6))
def test_the_value_survives_a_yaml_round_trip_and_key_order(document: dict[str, object]) -> None:
    secret = b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    expected = config_hash(document, secret)
    assert config_hash(dict(reversed(list(document.items()))), secret) == expected
    assert config_hash_of_yaml(yaml.safe_dump(document, sort_keys=True), secret) == expected

"""A MediaPipe calculator graph run on a batch of crops: the way to use the wheel's own subgraphs.

mediapipe 0.10.21 (and 0.10.18 on aarch64) ships the legacy solutions' subgraphs, registered in its native
library, with their tflite models as package files. ``resource_util.set_resource_dir`` points MediaPipe at
the folder above the package, so a subgraph finds ``mediapipe/modules/...`` there, in the wheel: nothing is
downloaded, nothing written. Each crop of a batch goes in at its own timestamp; outputs are collected per
timestamp once the graph is idle, and a missing output (no person present) is simply absent.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt


@functools.cache
def _point_mediapipe_at_its_wheel() -> None:
    import mediapipe as mp
    from mediapipe.python._framework_bindings import resource_util

    resource_util.set_resource_dir(str(Path(mp.__file__).resolve().parent.parent))


class CropGraph:
    """A calculator graph with an ``image`` input stream plus optional proto streams, run in batches.

    Args:
        config: the graph's text proto.
        outputs: names of the output streams to collect.
        side_packets: name to int/bool value of the graph's input side packets.
        list_outputs: those of ``outputs`` that carry a list of protos (detections), not one proto.
    """

    def __init__(
        self,
        config: str,
        outputs: Sequence[str],
        side_packets: Mapping[str, int | bool],
        list_outputs: Sequence[str] = (),
    ) -> None:
        import mediapipe as mp
        from mediapipe.python import packet_creator

        _point_mediapipe_at_its_wheel()
        self._graph = mp.CalculatorGraph(graph_config=config)
        self._collected: dict[str, dict[int, Any]] = {name: {} for name in outputs}
        self._lists = frozenset(list_outputs)
        for name in outputs:
            self._graph.observe_output_stream(name, functools.partial(self._collect, name))
        packets = {
            key: packet_creator.create_bool(value) if isinstance(value, bool) else packet_creator.create_int(value)
            for key, value in side_packets.items()
        }
        self._graph.start_run(input_side_packets=packets)
        self._timestamp = 0
        self._closed = False

    def _collect(self, name: str, _stream: str, packet: Any) -> None:
        from mediapipe.python import packet_getter

        getter = packet_getter.get_proto_list if name in self._lists else packet_getter.get_proto
        self._collected[name][packet.timestamp.value] = getter(packet)

    def run(self, crops: Sequence[npt.NDArray[np.uint8]], protos: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
        """Run the graph once per crop (BGR uint8), with the matching proto of every named stream.

        Returns:
            Per crop, the outputs that came back, by stream name.
        """
        import mediapipe as mp
        from mediapipe.python import packet_creator

        if self._closed:
            raise RuntimeError("the graph is closed")
        for values in protos.values():
            if len(values) != len(crops):
                raise ValueError(f"one proto per crop expected, got {len(values)} for {len(crops)} crops")
        for store in self._collected.values():
            store.clear()
        stamps = []
        for index, crop in enumerate(crops):
            stamp = self._timestamp
            self._timestamp += 1
            stamps.append(stamp)
            rgb = np.ascontiguousarray(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
            image = packet_creator.create_image_frame(image_format=mp.ImageFormat.SRGB, data=rgb)
            self._graph.add_packet_to_input_stream("image", image.at(stamp))
            for stream, values in protos.items():
                self._graph.add_packet_to_input_stream(stream, packet_creator.create_proto(values[index]).at(stamp))
        if stamps:
            self._graph.wait_until_idle()
        return [{name: store[stamp] for name, store in self._collected.items() if stamp in store} for stamp in stamps]

    def close(self) -> None:
        """Stop the graph. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._graph.close()

"""`nitrosignal demo`: platform and detector together on a demo clip, following one alert end to end.

The demo needs every extra (detector, platform and training for the balloon renderer); it is imported
only when the `demo` command runs.
"""

from nitrosignal.demo.runner import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]

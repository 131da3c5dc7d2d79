"""nitrosignal: anonymous signals of nitrous-oxide balloon use, from on-device vision to enforcement officers.

The top-level package holds only what every component shares and keeps it light: the wire contract
(`nitrosignal.wire`), CURVE key handling (`nitrosignal.keys`) and the command-line shell
(`nitrosignal.cli`). Detector, platform, training and IAMA live in their own packages.
"""

__version__ = "0.1.0"

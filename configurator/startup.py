"""Start-up without the cyclic garbage collector's full passes over everything just imported.

Loading configurator's modules (and paramiko, jinja2, yaml) makes some hundred thousand objects that
live as long as the process. While they are made, the collector's thresholds are crossed again and
again and each older-generation pass walks all of them: about 50 million instructions of a converged
run's 850 (bench/README.md). Imports run with it paused; once the command's modules are loaded they are
frozen out of later passes (`gc.freeze`), which also shortens each pass made while hosts run.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (if it was running), restored after it, also on an error."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def loaded() -> None:
    """Everything made so far lives for the run: keep the collector from walking it again."""
    gc.freeze()

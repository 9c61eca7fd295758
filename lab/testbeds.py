"""The lab's Swift all-in-one comes from the test beds (``ccsec_testbeds``), which ship with the repository.

The product wheel does not ship them, so nothing in the product imports them at import time: only the lab,
where it starts or stops its Swift (for the db and recordings roles), calls :func:`swift_aio`.
"""

from __future__ import annotations

from types import ModuleType

INSTALL_HINT = (
    "the lab's Swift all-in-one (the backup target of the db and recordings roles) is a test bed that ships "
    "with the repository, not with the ccsec package: from a checkout, run `pip install -e testbeds`"
)


class TestbedMissingError(RuntimeError):
    """ccsec_testbeds is not installed."""


def swift_aio() -> ModuleType:
    """``ccsec_testbeds.swift_aio``, or :class:`TestbedMissingError` saying how to get it."""
    try:
        from ccsec_testbeds import swift_aio as module
    except ModuleNotFoundError as error:
        if error.name not in ("ccsec_testbeds", "ccsec_testbeds.swift_aio"):
            raise  # the test bed is there but one of its own imports is missing: show that
        raise TestbedMissingError(INSTALL_HINT) from None
    return module

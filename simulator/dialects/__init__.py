"""The three wire formats. Each dialect only translates; rules and state live elsewhere."""

from __future__ import annotations

from .base import Dialect, ErrorReply, TaskView
from .evolink import Evolink
from .reapi import ReAPI
from .vtrix import Vtrix


def build_dialects(reapi_error_codes: str = "numeric") -> dict[str, Dialect]:
    return {"evolink": Evolink(), "reapi": ReAPI(reapi_error_codes), "vtrix": Vtrix()}


__all__ = ["Dialect", "ErrorReply", "Evolink", "ReAPI", "TaskView", "Vtrix", "build_dialects"]

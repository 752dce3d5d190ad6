"""Scenarios for features/email.feature (its steps are shared with product: conftest.py)."""
from __future__ import annotations

import pytest
from pytest_bdd import scenarios

INTERFACE = "email"
pytestmark = pytest.mark.usefixtures("keel_cell")

scenarios("../features/email.feature")

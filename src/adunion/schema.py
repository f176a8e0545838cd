"""Imports every domain's tables so ``Base.metadata`` is the whole schema."""

from __future__ import annotations

from adunion.accounts import models as accounts_models
from adunion.kernel.models import Base
from adunion.ledger import models as ledger_models  # noqa: F401 - registers the tables

metadata = Base.metadata

__all__ = ["accounts_models", "metadata"]

"""Imports every domain's tables so ``Base.metadata`` is the whole schema."""

from __future__ import annotations

from adunion.accounts import models as accounts_models
from adunion.billing import models as billing_models  # noqa: F401 - registers the tables
from adunion.campaigns import models as campaigns_models  # noqa: F401 - registers the tables
from adunion.inventory import models as inventory_models  # noqa: F401 - registers the tables
from adunion.kernel import idempotency as idempotency_models  # noqa: F401
from adunion.kernel.models import Base
from adunion.ledger import models as ledger_models  # noqa: F401 - registers the tables
from adunion.reporting import models as reporting_models  # noqa: F401 - registers the tables
from adunion.risk import models as risk_models  # noqa: F401 - registers the tables
from adunion.serving import models as serving_models  # noqa: F401 - registers the table
from adunion.tracking import models as tracking_models  # noqa: F401 - registers the tables
from adunion.wallet import models as wallet_models  # noqa: F401

metadata = Base.metadata

__all__ = ["accounts_models", "metadata"]

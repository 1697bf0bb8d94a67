"""The checks: each turns what the pipeline saw on one face into a :class:`CheckResult`.

Geometry checks read the face box and landmarks; attribute checks read the crops through a
classifier. Every check is listed in :data:`CHECK_NAMES` in report order.
"""

from __future__ import annotations

from collections.abc import Sequence

from icaocheck.checks.registry import RegistryView

# Every check's name in report order, from the registry (icaocheck.checks.registry): each check is
# one module of this package, and adding the module adds the check everywhere.
CHECK_NAMES: Sequence[str] = RegistryView(lambda checks: tuple(cls.name for cls in checks))

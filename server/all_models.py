"""Import every capability's models so the metadata (Alembic, tests) sees the whole schema."""

from .audit import models as audit_models  # noqa: F401
from .auth import models as auth_models  # noqa: F401
from .catalog import models as catalog_models  # noqa: F401
from .imports import models as import_models  # noqa: F401
from .org import models as org_models  # noqa: F401
from .registry import models as registry_models  # noqa: F401

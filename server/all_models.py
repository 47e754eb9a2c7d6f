"""Import every capability's models so the metadata (Alembic, tests) sees the whole schema."""

from .audit import models as audit_models  # noqa: F401
from .auth import models as auth_models  # noqa: F401
from .catalog import models as catalog_models  # noqa: F401
from .draws import models as draw_models  # noqa: F401
from .fieldwork import models as fieldwork_models  # noqa: F401
from .followup import models as followup_models  # noqa: F401
from .imports import models as import_models  # noqa: F401
from .org import models as org_models  # noqa: F401
from .planning import models as planning_models  # noqa: F401
from .registry import models as registry_models  # noqa: F401
from .review import models as review_models  # noqa: F401
from .rules import models as rule_models  # noqa: F401
from .teams import models as team_models  # noqa: F401
from .visits import models as visit_models  # noqa: F401
from .workdays import models as workdays_models  # noqa: F401

# The six roles' world (two owners' campaigns, experts, staff), as in the campaign tests.
from tests.campaigns.conftest import world  # noqa: F401

import pytest

from server.org.models import Kind, Level


@pytest.fixture
def tree(make_department):
    """A city bureau with a county bureau below it, and a 市场监管所 under the county bureau."""
    city = make_department("焦作市市场监督管理局", level=Level.CITY, code="CITY")
    county = make_department("武陟县市场监督管理局", level=Level.COUNTY, parent=city, code="COUNTY")
    station = make_department("木城市场监管所", level=Level.COUNTY, parent=county, kind=Kind.UNIT, code="UNIT")
    return {"city": city, "county": county, "station": station}

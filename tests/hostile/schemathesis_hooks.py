"""What schemathesis is told about the API's own formats (loaded with SCHEMATHESIS_HOOKS).

``ee-personal-code``: a code whose birth date exists and whose check digit holds, composed
by the domain's own ``build``, for adults (a minor's application is declined, which is
still an answer), so that "schema-valid" data is valid.
"""

from __future__ import annotations

from datetime import date

import schemathesis
from hypothesis import strategies as st

from scoring.domain.personal_code import OPENAPI_FORMAT, build

schemathesis.openapi.format(
    OPENAPI_FORMAT,
    st.builds(
        build,
        st.dates(min_value=date(1930, 1, 1), max_value=date(2004, 12, 31)),
        female=st.booleans(),
        serial=st.integers(min_value=0, max_value=999),
    ),
)

"""Intercepts of the transparent model that approve, refer (the grey zone) and decline a
thin-file applicant with a "good" bureau class asking 500 EUR over 12 months.

A module of its own, not conftest: with several test folders collected in one run, the name
``conftest`` belongs to whichever folder's conftest was imported last.
"""

APPROVING, REFERRING, DECLINING = -4.5, -3.6, -1.0

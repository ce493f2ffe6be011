"""What this installer installs: filled in by ./occo-dev bundle-installer.

The values here only serve the unit tests of these modules.
"""

# The occo-api release installed unless told otherwise.
VERSION = "0.0.0"
# The oldest Python the components accept (their requires-python).
PYTHON_MIN = (3, 11)
# occo-api==VERSION and its whole runtime closure, each `name==version
# --hash=...`: what a default install gets, checked by pip's hash mode.
REQUIREMENTS = ()

"""occo-dev: builds, tests and publishes the Occopus components of this monorepo.

Everything it knows about the components (names, versions, dependencies, build
order) is read from their pyproject.toml files; nothing is listed by hand.
"""

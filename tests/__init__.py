"""The test suite (a package, so `tests.*` helpers win over any stray `tests` package installed in site-packages)."""

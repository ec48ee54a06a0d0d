"""The test suite (a package, so no installed top-level `tests` package, such as mutmut's, can shadow it)."""

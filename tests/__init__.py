"""The test suite: unit (no I/O), bdd (Gherkin over fakes), integration (real stores), e2e."""

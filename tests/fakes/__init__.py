"""Local stand-ins for Azure (ARM REST API, Entra ID device code, the `az` CLI), importable
without pytest so benchmarks can start them too; the pytest fixtures wrapping them live in
tests/fixtures/arm_server.py and tests/fixtures/azure_login.py."""

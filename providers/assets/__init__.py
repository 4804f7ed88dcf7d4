"""Binary assets shipped with the package: a 5 s 16:9 720p sample video (what the fake gateways serve in tests)."""

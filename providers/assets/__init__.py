"""Binary assets shipped with the package (the sandbox's sample video)."""

"""The command line: argument handling, the person-facing commands, HTTP serving."""

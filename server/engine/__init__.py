"""The task engine: start, wait, submit, poll, schedule (over the ledger and the providers)."""

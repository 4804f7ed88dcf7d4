"""The durable task ledger (write-ahead records, leases, idempotency) and its lease owners."""

"""Use cases with transactions: every write goes through here, never straight to the store."""

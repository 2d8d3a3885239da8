"""The domain: the accounting model, document statuses, dimension rules, returns, matching and retry
times. Pure rules over plain data, plus the one place a document's status changes."""

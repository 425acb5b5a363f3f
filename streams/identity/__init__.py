"""Identity stage: every touchpoint gets the customer (person) it belongs to."""

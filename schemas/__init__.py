"""The touchpoint contract: Avro schemas, their pydantic mirrors and the wire codec.

Depends on nothing else in omnijourney; producers, streams and sinks all depend on it.
"""

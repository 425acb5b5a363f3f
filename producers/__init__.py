"""The channel producer SDK: validated, PII-hashed Avro touchpoints onto one topic per channel.

Depends on ``schemas`` only, so a channel team installs it without the stream processors.
"""

from producers.config import ProducerConfig
from producers.delivery import DeliveryFailure, ProducerStats, UndeliveredError
from producers.inputs import InputIdentifierType, TouchpointInput
from producers.pii import PiiHasher, normalise_email, normalise_phone
from producers.prepare import Prepared
from producers.sdk import TouchpointProducer

__all__ = [
    "DeliveryFailure",
    "InputIdentifierType",
    "PiiHasher",
    "Prepared",
    "ProducerConfig",
    "ProducerStats",
    "TouchpointInput",
    "TouchpointProducer",
    "UndeliveredError",
    "normalise_email",
    "normalise_phone",
]

"""Driver and broker errors are classified once: retry while the server is away, else give up."""

from __future__ import annotations

import pytest
from bson.errors import InvalidDocument
from confluent_kafka import KafkaError
from pymongo.errors import (
    AutoReconnect,
    DocumentTooLarge,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
    WriteError,
)

from adapters.kafka.publisher import publish_error
from adapters.mongo.client import store_error
from domain.errors import DependencyUnavailable, InternalError


@pytest.mark.parametrize(
    "error",
    [
        ServerSelectionTimeoutError("no server"),
        AutoReconnect("connection reset"),
        NetworkTimeout("timed out"),
        OperationFailure("shutting down", code=11600),
        OperationFailure("not primary", code=10107),
    ],
)
def test_an_unreachable_or_electing_server_is_waited_for(error: Exception) -> None:
    classified = store_error(error, "The OTP store")  # type: ignore[arg-type]
    assert isinstance(classified, DependencyUnavailable)


@pytest.mark.parametrize(
    "error",
    [
        WriteError("bad value", code=2),
        DocumentTooLarge("16 MB"),
        InvalidDocument("key must not start with '$'"),
        OperationFailure("unauthorized", code=13),
    ],
)
def test_a_refused_operation_is_not_retried(error: Exception) -> None:
    classified = store_error(error, "The OTP store")  # type: ignore[arg-type]
    assert isinstance(classified, InternalError)
    assert not isinstance(classified, DependencyUnavailable)
    assert type(error).__name__ in classified.message


def test_a_record_too_large_for_the_broker_is_not_retried() -> None:
    refused = publish_error(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
    assert isinstance(refused, InternalError)
    assert not isinstance(refused, DependencyUnavailable)


def test_a_broker_that_is_away_is_waited_for() -> None:
    for code in (KafkaError._MSG_TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
        assert isinstance(publish_error(KafkaError(code)), DependencyUnavailable)

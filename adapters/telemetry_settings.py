"""The telemetry branch of the settings: log format and level, and where spans are exported."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from adapters.settings import Branch, HttpUrl, Lower, Upper, shown


class TelemetrySettings(Branch):
    title: ClassVar[str] = "Logs, metrics and traces"

    log_format: Annotated[Literal["console", "json"], Lower] = "console"
    """`console` or `json`"""
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], Upper] = "INFO"
    """`DEBUG`, `INFO`, `WARNING`, `ERROR`"""
    otel_exporter_otlp_endpoint: Annotated[str | None, HttpUrl] = Field(
        None,
        json_schema_extra=shown(
            "unset: spans are made (trace ids reach replies and logs) but not exported"
        ),
    )
    """an OTLP/HTTP collector for the service's spans; the exporter's other standard
    `OTEL_EXPORTER_OTLP_*` variables (headers, timeout, certificates) apply"""
    otel_exporter_otlp_traces_endpoint: Annotated[str | None, HttpUrl] = None
    """the same, for traces only"""
    otel_traces_exporter: Annotated[str, Lower] = "otlp"
    """`none` turns exporting off even with an endpoint set"""

    @property
    def otlp_traces(self) -> bool:
        """Spans are exported only when a collector is named (the exporter reads the rest of its
        OTEL_EXPORTER_OTLP_* settings itself)."""
        endpoint = self.otel_exporter_otlp_traces_endpoint or self.otel_exporter_otlp_endpoint
        return endpoint is not None and self.otel_traces_exporter != "none"

"""Content negotiation: Accept, ``_format`` and ``_pretty`` (R4 http.html#mime-type).

Only JSON is served. A request that explicitly asks for XML (or any other format and
no JSON) gets 406 Not Acceptable with an OperationOutcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from isocenter.outcomes import OperationOutcomeError

FHIR_JSON = "application/fhir+json"
PLAIN_JSON = "application/json"

# Names a client may use for JSON: the R4 MIME type, plain JSON, the DSTU2 type and
# the `_format` shorthand.
_JSON_NAMES = {FHIR_JSON, PLAIN_JSON, "application/json+fhir", "json", "text/json"}
_WILDCARDS = {"*/*", "application/*"}
FHIR_VERSIONS = {"4.0", "4.0.1"}


@dataclass(frozen=True, slots=True)
class Format:
    """How the response is written: its media type and whether it is indented."""

    media_type: str = FHIR_JSON
    pretty: bool = False

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"


DEFAULT = Format()


def not_acceptable(asked: str) -> OperationOutcomeError:
    return OperationOutcomeError(
        406, "not-supported", f"only JSON is served (application/fhir+json), not {asked!r}"
    )


def _media_type(name: str) -> str | None:
    """The response media type for an acceptable format name, else None."""
    if name in _WILDCARDS or name == FHIR_JSON or name == "application/json+fhir":
        return FHIR_JSON
    if name in _JSON_NAMES:
        return PLAIN_JSON if name == PLAIN_JSON else FHIR_JSON
    return None


@lru_cache(maxsize=256)
def from_accept(accept: str) -> str:
    """The media type to answer with for an Accept header (RFC 9110 12.5.1 q-values)."""
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        name, _, parameters = part.partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.strip().partition("=")
            key = key.strip().lower()
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
            elif key == "fhirversion" and value.strip().strip('"') not in FHIR_VERSIONS:
                # http.html#version-parameter: another FHIR version is not what we serve.
                quality = 0.0
        if quality > 0 and name.strip():
            ranges.append((-quality, position, name.strip().lower()))
    for _, _, name in sorted(ranges):
        media_type = _media_type(name)
        if media_type is not None:
            return media_type
    raise not_acceptable(accept)


def from_format_parameter(value: str) -> str:
    """The media type for ``_format`` (which overrides Accept, http.html#mime-type)."""
    # A `+` left unencoded in a query string arrives as a space.
    name = value.strip().replace(" ", "+").split(";")[0].strip().lower()
    media_type = _media_type(name)
    if media_type is None or name in _WILDCARDS:
        raise not_acceptable(value)
    return media_type


def negotiate(accept: str | None, format_parameter: str | None, pretty: str | None) -> Format:
    """Choose the response format; raise 406 when the client wants no JSON."""
    if format_parameter is not None:
        media_type = from_format_parameter(format_parameter)
    elif accept:
        media_type = from_accept(accept)
    else:
        media_type = FHIR_JSON
    return Format(media_type, pretty == "true")

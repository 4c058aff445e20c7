"""The FHIR REST API over HTTP (http://hl7.org/fhir/R4/http.html).

``routes`` holds the route table; each interaction lives in a module named after it
(``interactions``, ``history``, ``searchset``, ``transaction``, ``capability``). Errors
become OperationOutcome responses in ``errors``; formats are chosen in ``negotiation``.
"""

"""The routes of ``/ehr``: patient search, the chart, app launches, sign-out."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from isocenter.ehr import pages


def ehr_routes() -> list[BaseRoute]:
    return [
        Route("/ehr", pages.search, methods=["GET"]),
        Route("/ehr/patients/{patient_id}", pages.patient_chart, methods=["GET"]),
        Route("/ehr/patients/{patient_id}/launch", pages.launch, methods=["POST"]),
        Route("/ehr/signout", pages.sign_out, methods=["POST"]),
    ]

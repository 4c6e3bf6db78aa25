"""The OpenAPI 3.1 document served at /api/v1/openapi.json, built from the same models the code uses."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from bridge.views import Accepted, IncidentOut, IncidentPage, Problem, TicketOut, Window
from connectors.alertmanager import AMWebhook
from connectors.findings import Finding
from connectors.zabbix import ZabbixWebhook

ERRORS = {
    "400": "Malformed JSON or a bad parameter",
    "401": "Missing or invalid bearer token",
    "403": "The token may not do this",
    "404": "Not found",
    "413": "Body over the size limit",
    "415": "Body is not application/json",
    "422": "Valid JSON that is not a valid payload, or an unknown customer",
    "503": "Database unreachable: nothing was stored, retry",
}


def _collect(models: list[type[BaseModel]]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for m in models:
        s = m.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in s.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[m.__name__] = s
    return schemas


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {c: _json("Problem", ERRORS[c]) for c in codes}


def _ingest(summary: str, model: str, scope: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "security": [{"bearer": []}],
            "x-scope": scope,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(model)}}},
            "responses": {
                "200": _json("Accepted", "Committed: what the body carried is stored"),
                **_errors("400", "401", "403", "413", "415", "422", "503"),
            },
        }
    }


def _get(
    summary: str, model: str, params: list[dict[str, Any]], codes: tuple[str, ...] = ("400", "401", "403")
) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "security": [{"bearer": []}],
            "parameters": params,
            "responses": {"200": _json(model, "OK"), **_errors(*codes, "503")},
        }
    }


def _action(
    summary: str, body: str | None, answer: str, ok: str, by_id: bool, conflict: str | None = None, status: str = "200"
) -> dict[str, Any]:
    """A POST that changes one thing (scope `work`)."""
    op: dict[str, Any] = {"summary": summary, "security": [{"bearer": []}], "x-scope": "work"}
    if by_id:
        op["parameters"] = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}]
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    responses = {status: _json(answer, ok), **_errors("400", "401", "403", "404", "413", "415", "422", "503")}
    if conflict:
        responses["409"] = _json("Problem", conflict)
    op["responses"] = responses
    return {"post": op}


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


@cache
def document() -> dict[str, Any]:
    from bridge.app import Acknowledgement, NoteIn, WindowIn

    schemas = _collect(
        [
            AMWebhook,
            ZabbixWebhook,
            Finding,
            Acknowledgement,
            NoteIn,
            WindowIn,
            Window,
            Accepted,
            IncidentOut,
            IncidentPage,
            TicketOut,
            Problem,
        ]
    )
    health = {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "alertbridge",
            "version": "1",
            "description": "Monitoring alerts in, service-desk incidents out. Curators are told only when "
            "their service is hit; silent faults stay internal.",
        },
        "paths": {
            "/api/v1/alertmanager": _ingest("Alertmanager webhook (version 4)", "AMWebhook", "alertmanager"),
            "/api/v1/zabbix": _ingest("Zabbix webhook (alertbridge media type)", "ZabbixWebhook", "zabbix"),
            "/api/v1/findings": _ingest("An engineer's proactive finding", "Finding", "findings"),
            "/api/v1/incidents": _get(
                "List incidents",
                "IncidentPage",
                [
                    _q("customer", {"type": "string"}),
                    _q("service", {"type": "string"}),
                    _q("kind", {"type": "string", "enum": ["incident", "fault"]}),
                    _q("state", {"type": "string", "enum": ["open", "resolved", "closed"]}),
                    _q("stage", {"type": "string", "enum": ["new", "in_progress", "resolved", "closed"]}),
                    _q("origin", {"type": "string", "enum": ["monitoring", "engineer", "customer"]}),
                    _q("limit", {"type": "integer", "minimum": 1, "maximum": 5000, "default": 100}),
                    _q("offset", {"type": "integer", "minimum": 0, "default": 0}),
                ],
            ),
            "/api/v1/incidents/{id}": _get(
                "One incident with its alerts",
                "IncidentOut",
                [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}],
                ("400", "401", "403", "404"),
            ),
            "/api/v1/incidents/{id}/acknowledge": _action(
                "An engineer takes the incident (meets the reaction deadline)",
                "Acknowledgement",
                "IncidentOut",
                "Acknowledged",
                True,
            ),
            "/api/v1/incidents/{id}/notes": _action(
                "An engineer's note on the ticket: internal, or customer-visible with public (incidents only)",
                "NoteIn",
                "IncidentOut",
                "Added",
                True,
                conflict="A silent fault's notes stay internal, or the incident is closed",
            ),
            "/api/v1/incidents/{id}/close": _action(
                "A person closes the incident and its ticket",
                "Acknowledgement",
                "IncidentOut",
                "Closed",
                True,
                conflict="Already closed",
            ),
            "/api/v1/maintenance": {
                **_action("Open a maintenance window", "WindowIn", "Window", "Created", False, status="201"),
                "get": {
                    "summary": "Maintenance windows not ended yet",
                    "security": [{"bearer": []}],
                    "parameters": [_q("customer", {"type": "string"})],
                    "responses": {
                        "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                        **_errors("401", "403", "503"),
                    },
                },
            },
            "/api/v1/maintenance/{id}/end": _action(
                "End a maintenance window now", None, "Window", "Ended", True, conflict="Already ended"
            ),
            "/api/v1/tickets/{number}": _get(
                "A ticket of the built-in desk with its articles",
                "TicketOut",
                [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
                ("401", "403", "404"),
            ),
            "/api/v1/outbox": {
                "get": {
                    "summary": "Side effects waiting for delivery",
                    "security": [{"bearer": []}],
                    "responses": {
                        "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                        **_errors("401", "403", "503"),
                    },
                }
            },
            "/healthz": {"get": {"summary": "The process is up", "responses": health}},
            "/readyz": {"get": {"summary": "The database is reachable", "responses": {**health, **_errors("503")}}},
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }

"""Monitoring intake: alerts from Prometheus Alertmanager, Grafana and a generic JSON
format open cases, add notes to them, and resolve them (README "REST API and
monitoring intake"). ``parse`` reads the payloads, ``intake`` dedupes and calls the
workflow, ``signature`` checks HMAC-signed deliveries."""

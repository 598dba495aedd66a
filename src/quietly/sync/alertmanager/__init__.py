"""Alertmanager (and Grafana, Mimir and Cortex alerting, which serve the same v2 API under
their own prefixes): windows become silences.

``translate`` turns windows into silences (pure); ``adapter`` talks to the v2 API.
"""

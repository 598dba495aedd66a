"""Record real Alertmanager webhook payloads into ``fixtures/`` (run by hand when needed).

    PYTHONTZPATH="" .venv/bin/python -m tests.integrations.record_alertmanager

Starts Debian's Alertmanager with a webhook receiver pointing at a local recorder (with a
Bearer credential, to record that it is sent), posts a firing group of three alerts, then
resolves one of them, and writes each webhook body as it arrived.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.integrations.amharness import Alertmanager, Recorder

FIXTURES = Path(__file__).with_name("fixtures")


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _alert(name: str, service: str, instance: str, **extra: str) -> dict[str, object]:
    return {"labels": {"alertname": name, "service": service, "instance": instance,
                       "job": "node", "env": "prod", **extra},
            "annotations": {"summary": f"{name} on {instance}"},
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up"}


def main() -> None:
    now = datetime.now(UTC)
    alerts = [_alert("HighLatency", "checkout", "web-1:9100"),
              _alert("HighLatency", "checkout", "web-2:9100", severity="page"),
              _alert("HighLatency", "search", "search-1:9100")]
    with Recorder() as recorder, Alertmanager(recorder.url, bearer="am-test-secret") as am:
        am.post_alerts([{**a, "startsAt": _iso(now - timedelta(minutes=5))} for a in alerts])
        firing = recorder.wait_for(1)[0]
        # Its API lists active alerts only: take the fingerprints before one resolves.
        am_fingerprints = {a["fingerprint"]: a["labels"] for a in am.alerts()}
        resolved_one = {**alerts[2], "startsAt": _iso(now - timedelta(minutes=5)),
                        "endsAt": _iso(now - timedelta(seconds=1))}
        am.post_alerts([resolved_one])
        later = recorder.wait_for(2)[1]
        auth = recorder.requests[0][0].get("Authorization")
    FIXTURES.mkdir(exist_ok=True)
    (FIXTURES / "alertmanager_firing.json").write_text(json.dumps(firing, indent=2) + "\n")
    (FIXTURES / "alertmanager_one_resolved.json").write_text(json.dumps(later, indent=2) + "\n")
    (FIXTURES / "alertmanager_api_fingerprints.json").write_text(
        json.dumps(am_fingerprints, indent=2, sort_keys=True) + "\n")
    print(f"recorded 2 payloads; Authorization header sent: {auth!r}")


if __name__ == "__main__":
    main()

"""Batch notifications: a real SMTP server on 127.0.0.1 (aiosmtpd), one that refuses, a command.

Whatever happens to the notification, the batch's exit code is the one it would have had.
"""

from __future__ import annotations

import email
import json
import socket
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import scenario_project

from shopcast.workbench import batch, notify
from shopcast.workbench.batch import Outcome
from shopcast.workbench.exitcodes import ExitCode

FIXTURES = Path(__file__).parent / "notebooks"


# --------------------------------------------------------------------------------------------
# settings and the summary (no kernel)


def test_settings_from_file_and_environment(tmp_path):
    path = tmp_path / "notify.yaml"
    path.write_text("host: mail.example\nport: 2525\nto: [a@example.org]\nthreshold: 0.1\n")
    settings = notify.load_settings({"SHOPCAST_NOTIFY_CONFIG": str(path)})
    assert (settings.host, settings.port, settings.to, settings.threshold) == (
        "mail.example",
        2525,
        ["a@example.org"],
        0.1,
    )
    env = {
        "SHOPCAST_NOTIFY_CONFIG": str(path),
        "SHOPCAST_SMTP_PORT": "1025",
        "SHOPCAST_SMTP_TO": "b@example.org, c@example.org",
    }
    settings = notify.load_settings(env)  # the environment wins over the file
    assert (settings.host, settings.port) == ("mail.example", 1025)
    assert settings.to == ["b@example.org", "c@example.org"]


def test_settings_without_a_host_say_what_to_set(tmp_path):
    env = {"SHOPCAST_NOTIFY_CONFIG": str(tmp_path / "none.yaml")}
    with pytest.raises(notify.NotifyError, match="SHOPCAST_SMTP_HOST"):
        notify.load_settings(env)


def test_headline_changes_beyond_the_threshold():
    before = {
        "p": {"value": 0.40, "fmt": ".0%"},
        "t": {"value": 100.0},
        "z": {"value": 0},
        "m": {"value": "ets"},
    }
    after = {
        "p": {"value": 0.43, "fmt": ".0%", "label": "P(goal)"},  # +7.5%: listed
        "t": {"value": 104.9},  # +4.9%: not listed
        "z": {"value": 0.001},  # from zero: listed
        "m": {"value": "prophet"},  # not a number: not compared
        "new": {"value": 1.0},  # no previous value: not compared
    }
    changes = notify.headline_changes(before, after, 0.05)
    assert [c["name"] for c in changes] == ["p", "z"]
    assert changes[0]["shown"] == "40% -> 43%"
    assert changes[0]["relative_change"] == pytest.approx(0.075)
    assert changes[1]["relative_change"] is None


def test_summary_subject_and_body(tmp_path):
    outcomes = [
        Outcome("goal", "base", "succeeded", 12.0, {"p": {"value": 0.5, "label": "P(goal)"}}),
        Outcome("goal", "bad", "failed", 3.0, detail="cell error", exit_code=1),
        Outcome("sellers", "base", "unchanged", 0.0, {}, "since 2026-11-28"),
    ]
    previous = {("goal", "base"): {"p": {"value": 0.4}}}
    summary = notify.batch_summary(
        outcomes, previous, root=tmp_path, exit_code=5, wall_s=15.0, log_path=None
    )
    assert summary["failed"] == ["goal/bad"] and summary["n_failed"] == 1
    assert notify.subject(summary) == (
        "[shopcast] FAILED: 1 of 3 scenarios failed, 1 with headline changes"
    )
    text = notify.body(summary)
    assert "goal/bad: failed (cell error), 3.0 s" in text
    assert "goal/base: P(goal): 0.4 -> 0.5" in text
    json.dumps(summary)  # plain JSON for --on-failure


# --------------------------------------------------------------------------------------------
# real batches and a real SMTP server


class Inbox:
    """An aiosmtpd handler that keeps what it receives, or refuses every recipient."""

    def __init__(self, refuse: bool = False):
        self.refuse = refuse
        self.messages: list[email.message.Message] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ARG002
        if self.refuse:
            return "550 5.7.1 relaying refused"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ARG002
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(request, monkeypatch):
    inbox = Inbox(refuse=getattr(request, "param", False))
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SHOPCAST_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SHOPCAST_SMTP_PORT", str(port))
    monkeypatch.setenv("SHOPCAST_SMTP_TO", "analysts@example.org")
    monkeypatch.setenv("SHOPCAST_SMTP_FROM", "shopcast@example.org")
    monkeypatch.setenv("SHOPCAST_NOTIFY_CONFIG", "/nonexistent/notify.yaml")
    yield inbox
    controller.stop()


@pytest.fixture
def scenarios(tmp_path, monkeypatch):
    """One scenario that succeeds and one that fails, reports in tmp."""
    return scenario_project(
        tmp_path,
        monkeypatch,
        {"simple": {"small": "n: 5\n"}, "broken1": {"fails": "divisor: 0\n"}},
    )


def _log(root: Path) -> str:
    return "".join(p.read_text() for p in (root / "logs").glob("batch-*.log"))


@pytest.mark.slow
def test_one_email_per_batch_with_the_failing_report_attached(scenarios, smtp, tmp_path):
    received = tmp_path / "on_failure.json"
    code = batch.run_batch(workers=2, root=scenarios, notify=True, on_failure=f"cat > {received}")
    assert code == ExitCode.BATCH_FAILED
    assert len(smtp.messages) == 1
    msg = smtp.messages[0]
    assert msg["Subject"] == "[shopcast] FAILED: 1 of 2 scenarios failed"
    assert msg["To"] == "analysts@example.org"
    attachments = [p for p in msg.walk() if p.get_filename()]
    assert [p.get_filename() for p in attachments] == ["broken1--fails--report.html"]
    page = attachments[0].get_payload(decode=True).decode()
    assert "This run failed" in page and "ZeroDivisionError" in page
    text = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload()
    assert "simple/small: succeeded" in text and "broken1/fails: failed" in text
    summary = json.loads(received.read_text())  # --on-failure got the same summary
    assert summary["failed"] == ["broken1/fails"] and summary["exit_code"] == 5
    assert "notification by email: sent" in _log(scenarios)


@pytest.mark.slow
@pytest.mark.parametrize("smtp", [True], indirect=True)
def test_a_refused_email_leaves_the_exit_code_and_is_logged(scenarios, smtp, caplog):
    code = batch.run_batch(workers=2, root=scenarios, notify=True, on_failure="exit 3")
    assert code == ExitCode.BATCH_FAILED  # what the batch itself says
    assert smtp.messages == []
    log = _log(scenarios)
    assert "notification by email failed: SMTPRecipientsRefused" in log
    assert "notification by on_failure failed: OSError: exit 3" in log
    assert any("notification by email failed" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_no_smtp_server_leaves_an_ok_batch_ok(scenarios, monkeypatch):
    monkeypatch.setenv("SHOPCAST_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SHOPCAST_SMTP_PORT", str(_free_port()))  # nothing listens there
    monkeypatch.setenv("SHOPCAST_SMTP_TO", "analysts@example.org")
    monkeypatch.setenv("SHOPCAST_SMTP_TIMEOUT", "5")
    small = batch.PARAMS_DIR / "simple" / "small.yaml"
    code = batch.run_batch([small], workers=1, root=scenarios, notify=True)
    assert code == ExitCode.OK
    assert "notification by email failed: ConnectionRefusedError" in _log(scenarios)

"""Telling people about a batch: one e-mail per batch, and/or a command for chat webhooks.

``shopcast batch --notify`` sends one message: what ran, what failed (the failing reports
attached), and headline values that moved by more than a threshold since the scenario's previous
good run. ``--on-failure CMD`` runs ``CMD`` through the shell when a scenario failed, with the
same summary as JSON on its standard input.

A notification never changes a batch's result: every error here is logged (to the log and the
batch's log file) and swallowed.

SMTP settings come from the environment, else from a YAML file (``SHOPCAST_NOTIFY_CONFIG``, by
default ``notify.yaml`` in the project root) with the same keys in lower case without the prefix:
``SHOPCAST_SMTP_HOST`` (required), ``SHOPCAST_SMTP_PORT`` (25), ``SHOPCAST_SMTP_FROM``,
``SHOPCAST_SMTP_TO`` (comma-separated, required), ``SHOPCAST_SMTP_USER``,
``SHOPCAST_SMTP_PASSWORD``, ``SHOPCAST_SMTP_STARTTLS`` (1 to upgrade the connection),
``SHOPCAST_SMTP_TIMEOUT`` (30 s) and ``SHOPCAST_NOTIFY_THRESHOLD`` (0.05: a 5% relative change).
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import subprocess
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import yaml

from shopcast.config import PROJ_ROOT
from shopcast.exceptions import NotifyError
from shopcast.publish import format_value

log = logging.getLogger("shopcast")

CONFIG_NAME = "notify.yaml"
ENV_PREFIX = "SHOPCAST_SMTP_"
DEFAULT_THRESHOLD = 0.05
#: Attachments beyond this many bytes in total are named in the message, not attached.
MAX_ATTACH_BYTES = 15_000_000
ON_FAILURE_TIMEOUT_S = 60


@dataclass
class SmtpSettings:
    """Where and how to send the batch's e-mail."""

    host: str
    to: list[str]
    port: int = 25
    sender: str = "shopcast@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 30.0
    threshold: float = DEFAULT_THRESHOLD


def config_path() -> Path:
    """The notification settings file (``SHOPCAST_NOTIFY_CONFIG`` or ``notify.yaml``)."""
    return Path(os.environ.get("SHOPCAST_NOTIFY_CONFIG", PROJ_ROOT / CONFIG_NAME))


def load_settings(env: dict[str, str] | None = None) -> SmtpSettings:
    """SMTP settings: the environment first, then the settings file.

    Raises:
        NotifyError: no host or no recipient, or an unreadable settings file.
    """
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    path = Path(env.get("SHOPCAST_NOTIFY_CONFIG", config_path()))
    if path.is_file():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise NotifyError(f"{path}: cannot read the notification settings: {exc}") from exc
        if not isinstance(loaded, dict):
            kind = type(loaded).__name__
            raise NotifyError(f"{path}: expected a mapping of settings, got a {kind}")
        values.update({str(k).lower(): v for k, v in loaded.items()})
    for key, value in env.items():
        if key.startswith(ENV_PREFIX):
            values[key.removeprefix(ENV_PREFIX).lower()] = value
    if "SHOPCAST_NOTIFY_THRESHOLD" in env:
        values["threshold"] = env["SHOPCAST_NOTIFY_THRESHOLD"]
    if not values.get("host") or not values.get("to"):
        raise NotifyError(
            f"--notify needs an SMTP host and recipients: set {ENV_PREFIX}HOST and "
            f"{ENV_PREFIX}TO (comma-separated), or host: and to: in {path}"
        )
    to = values["to"]
    recipients = [a.strip() for a in (to.split(",") if isinstance(to, str) else to) if a.strip()]
    try:
        return SmtpSettings(
            host=str(values["host"]),
            to=recipients,
            port=int(values.get("port", 25)),
            sender=str(values.get("from", "shopcast@localhost")),
            user=values.get("user") or None,
            password=values.get("password") or None,
            starttls=str(values.get("starttls", "0")).lower() in ("1", "true", "yes"),
            timeout_s=float(values.get("timeout", 30)),
            threshold=float(values.get("threshold", DEFAULT_THRESHOLD)),
        )
    except (TypeError, ValueError) as exc:
        raise NotifyError(
            f"notification settings ({path} or {ENV_PREFIX}*): port, timeout and threshold "
            f"must be numbers: {exc}"
        ) from exc


# ----------------------------------------------------------------------------- the summary


def headline_changes(
    before: dict[str, Any], after: dict[str, Any], threshold: float
) -> list[dict[str, Any]]:
    """Headline values whose relative change exceeds ``threshold`` (numbers only).

    A value that was zero counts as changed when it is no longer zero.
    """
    changes = []
    for name, item in after.items():
        old = (before.get(name) or {}).get("value")
        new = item.get("value")
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
        if not numbers:
            continue
        moved = abs(new - old) > threshold * abs(old) if old != 0 else new != 0
        if moved:
            fmt = item.get("fmt")
            changes.append(
                {
                    "name": name,
                    "label": item.get("label") or name,
                    "before": old,
                    "after": new,
                    "shown": f"{format_value(old, fmt)} -> {format_value(new, fmt)}",
                    "relative_change": (new - old) / old if old else None,
                }
            )
    return changes


def batch_summary(
    outcomes: list[Any],
    previous: dict[tuple[str, str], dict[str, Any]],
    *,
    root: Path,
    exit_code: int,
    wall_s: float,
    log_path: Path | None,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """The batch as plain JSON: every scenario, the failures, and headline changes.

    Args:
        outcomes: the batch's :class:`shopcast.workbench.batch.Outcome` objects.
        previous: each scenario's headline values in its last good run before the batch.
        root: the reports folder.
        exit_code: the batch's exit code (the summary reports it; it never changes it).
        wall_s: the batch's wall time in seconds.
        log_path: the batch's log file.
        threshold: relative change beyond which a headline value is listed.
    """
    scenarios = []
    for o in sorted(outcomes, key=lambda o: (o.notebook, o.scenario)):
        entry = {
            "notebook": o.notebook,
            "scenario": o.scenario,
            "status": o.status,
            "detail": o.detail,
            "duration_s": round(o.duration_s, 1),
            "report": getattr(o, "report", "") or "",
            "exit_code": o.exit_code,
        }
        if o.status == "succeeded":
            entry["changes"] = headline_changes(
                previous.get((o.notebook, o.scenario), {}), o.headline, threshold
            )
        scenarios.append(entry)
    failed = [s for s in scenarios if s["status"] not in ("succeeded", "unchanged")]
    return {
        "reports_dir": str(root),
        "gallery": str(root / "index.html"),
        "log": str(log_path) if log_path else "",
        "exit_code": int(exit_code),
        "wall_s": round(wall_s, 1),
        "n_scenarios": len(scenarios),
        "n_failed": len(failed),
        "threshold": threshold,
        "failed": [f"{s['notebook']}/{s['scenario']}" for s in failed],
        "scenarios": scenarios,
    }


def subject(summary: dict[str, Any]) -> str:
    """The e-mail's subject line."""
    n, bad = summary["n_scenarios"], summary["n_failed"]
    changed = sum(bool(s.get("changes")) for s in summary["scenarios"])
    if bad:
        head = f"[shopcast] FAILED: {bad} of {n} scenarios failed"
    else:
        head = f"[shopcast] ok: {n} scenarios"
    return head + (f", {changed} with headline changes" if changed else "")


def body(summary: dict[str, Any]) -> str:
    """The e-mail's plain-text body."""
    lines = [subject(summary).removeprefix("[shopcast] "), ""]
    for s in summary["scenarios"]:
        detail = f" ({s['detail']})" if s["detail"] and s["status"] != "succeeded" else ""
        lines.append(
            f"  {s['notebook']}/{s['scenario']}: {s['status']}{detail}, {s['duration_s']:.1f} s"
        )
    if summary["failed"]:
        lines += ["", "Failed (reports attached): " + ", ".join(summary["failed"])]
    changed = [s for s in summary["scenarios"] if s.get("changes")]
    if changed:
        lines += ["", f"Headline values that moved by more than {summary['threshold']:.0%}:"]
        for s in changed:
            for c in s["changes"]:
                lines.append(f"  {s['notebook']}/{s['scenario']}: {c['label']}: {c['shown']}")
    lines += [
        "",
        f"Gallery: {summary['gallery']}",
        f"Log: {summary['log']}",
        f"Exit code {summary['exit_code']}, wall {summary['wall_s']:.1f} s.",
    ]
    return "\n".join(lines) + "\n"


def message(summary: dict[str, Any], settings: SmtpSettings) -> EmailMessage:
    """The batch's e-mail: summary in the body, each failing report attached as HTML."""
    msg = EmailMessage()
    msg["Subject"] = subject(summary)
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.to)
    text = body(summary)
    budget = MAX_ATTACH_BYTES
    skipped = []
    for s in summary["scenarios"]:
        report = Path(s["report"]) if s["report"] else None
        if s["status"] in ("succeeded", "unchanged") or not report or not report.is_file():
            continue
        data = report.read_bytes()
        if len(data) > budget:
            skipped.append(str(report))
            continue
        budget -= len(data)
        filename = f"{s['notebook']}--{s['scenario']}--report.html"
        s["_attachment"] = (filename, data)
    if skipped:
        text += "\nNot attached (too large): " + ", ".join(skipped) + "\n"
    msg.set_content(text)
    for s in summary["scenarios"]:
        if "_attachment" in s:
            filename, data = s.pop("_attachment")
            msg.add_attachment(data, maintype="text", subtype="html", filename=filename)
    return msg


# ----------------------------------------------------------------------------- sending


def send_email(summary: dict[str, Any], settings: SmtpSettings) -> None:
    """Send the batch's e-mail (raises smtplib or socket errors; :func:`notify` logs them)."""
    msg = message(summary, settings)
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        refused = smtp.send_message(msg)
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)


def run_on_failure(command: str, summary: dict[str, Any]) -> None:
    """Run ``command`` through the shell with the summary as JSON on its standard input."""
    done = subprocess.run(
        command,
        shell=True,
        input=json.dumps(summary, indent=2, default=str),
        text=True,
        capture_output=True,
        timeout=ON_FAILURE_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise OSError(
            f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-500:] or 'no output'}"
        )


def notify(
    summary: dict[str, Any],
    *,
    email: bool,
    on_failure: str | None,
    settings: SmtpSettings | None = None,
    logfile: Any = None,
) -> dict[str, str]:
    """Send what was asked for; log every failure and return what happened to each channel.

    Never raises: a batch's result does not depend on its notification.
    """
    results: dict[str, str] = {}

    def failed(channel: str, exc: BaseException) -> None:
        results[channel] = f"failed: {type(exc).__name__}: {exc}"
        log.error("notification by %s failed: %s: %s", channel, type(exc).__name__, exc)
        if logfile is not None:
            logfile.write(f"\nnotification by {channel} failed: {type(exc).__name__}: {exc}\n")

    if email:
        try:
            send_email(summary, settings or load_settings())
            results["email"] = "sent"
            log.info("notification e-mailed: %s", subject(summary))
        except (NotifyError, smtplib.SMTPException, OSError) as exc:
            failed("email", exc)
    if on_failure and summary["n_failed"]:
        try:
            run_on_failure(on_failure, summary)
            results["on_failure"] = "ran"
        except (OSError, subprocess.SubprocessError) as exc:
            failed("on_failure", exc)
    if logfile is not None:
        for channel, result in results.items():
            logfile.write(f"\nnotification by {channel}: {result}\n")
        logfile.flush()
    return results

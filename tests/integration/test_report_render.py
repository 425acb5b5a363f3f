"""``omnijourney report`` end to end: built through a running sink's /sql, rendered in headless Chromium.

Chromium comes from Debian's package (``make browser``); without it these tests fail rather than
skip, because a report nobody saw render is not checked. The screenshots are kept in
``.run/artifacts/`` for a person to look at.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from sinks.connection import StoreConnection
from sinks.query import query
from sinks.query_server import make_server
from sinks.report import REPORT_ANALYSES, build_report
from sinks.store import StoreConfig, open_store
from tests.integration import png
from tests.integration.analysis_rows import (
    TOUCHES,
    final_survivor,
    latest_alerts,
    latest_journeys,
    load_store,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".run" / "artifacts"
WINDOW = (1100, 3600)
FUNNEL = ["awareness", "consideration", "intent", "conversion"]
# Colours the charts must have painted: the web and ads nodes of the Sankey (sinks/report/svg.py).
WEB, ADS = (0x4E, 0x79, 0xA7), (0xE1, 0x57, 0x59)

# What `omnijourney` does, with the report command registered the way streams/cli.py will.
CLI = """
import sys
from streams.app import create_app
from streams.cli import register_commands
from streams.report_command import register_report_command
from streams.settings import load_settings

settings = load_settings()
app = create_app(settings)
register_commands(app, settings)
register_report_command(app, settings)
sys.argv = ["omnijourney", "report", "--out", sys.argv[1]]
app.main()
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("headless Chromium is missing: run `make browser` (Debian: apt-get install -y chromium)")
    return found


def browse(page: Path, profile: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run on a local file, with its own profile (other tests may run one too)."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # the tests may run as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *flags,
        page.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def screenshot(page: Path, tmp_path: Path, artifact: str) -> png.Image:
    """A screenshot of the page, checked to be a real picture, and kept as a test artifact."""
    shot = tmp_path / artifact
    browse(page, tmp_path / "profile", f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}")
    data = shot.read_bytes()
    assert png.size(data) == WINDOW
    assert len(data) > 20_000, "a page of charts and tables compresses to more than this"
    image = png.decode(data)
    assert len(image.colours(step=3)) > 50, "not a blank or single-colour page"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / artifact)
    return image


def titles(dom: str, cls: str) -> list[str]:
    """Hover titles of the chart elements with class ``cls``, as the browser parsed them."""
    pattern = rf'<(?:path|rect)\b[^>]*\bclass="{cls}"[^>]*>\s*<title>([^<]*)</title>'
    return [html.unescape(t) for t in re.findall(pattern, dom)]


def chart(dom: str, label: str) -> str:
    """The markup of the one chart whose accessible name starts with ``label``."""
    found = re.findall(rf'<svg\b[^>]*\baria-label="{re.escape(label)}[^"]*".*?</svg>', dom, flags=re.S)
    assert len(found) == 1, f"{len(found)} charts named {label!r}"
    return str(found[0])


def matches(pattern: str, texts: list[str]) -> list[re.Match[str]]:
    found = [re.match(pattern, t) for t in texts]
    assert texts, f"no chart elements to match {pattern!r}"
    assert all(found), texts
    return [m for m in found if m is not None]


def number(text: str) -> int:
    return int(text.replace(",", ""))


def charts(dom: str) -> list[str]:
    return [html.unescape(label) for label in re.findall(r'<svg\b[^>]*\baria-label="([^"]*)"', dom)]


def expected_transitions() -> Counter[tuple[str, str]]:
    """Consecutive channel changes per customer (merged persons as one), in event-time order."""
    timelines: dict[str, list[tuple[int, str]]] = {}
    for t in TOUCHES:
        timelines.setdefault(final_survivor(t.person), []).append((t.minute, t.channel))
    moves: Counter[tuple[str, str]] = Counter()
    for timeline in timelines.values():
        channels = [c for _, c in sorted(timeline)]
        moves.update((a, b) for a, b in pairwise(channels) if a != b)
    return moves


class CountingClient:
    """The sink's store client, counting the queries that reach it through /sql."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.queries = 0

    def query(self, sql: str, **kwargs: Any) -> Any:
        self.queries += 1
        return self.client.query(sql, **kwargs)


@pytest.fixture
def running_sink(tmp_path: Path) -> Iterator[tuple[StoreConfig, int, CountingClient]]:
    """The filled store held open by a sink-like /sql server, as while the pipeline runs."""
    config = load_store(tmp_path / "store")
    client = CountingClient(open_store(config))
    server = make_server("127.0.0.1", 0, StoreConnection(client=client), lambda: {"state": "ok"})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield config, int(server.server_address[1]), client
    finally:
        server.shutdown()
        server.server_close()
        client.client.close()


def test_report_command_through_the_running_sink_renders_its_charts(
    tmp_path: Path, running_sink: tuple[StoreConfig, int, CountingClient]
) -> None:
    config, port, client = running_sink
    out = tmp_path / "out" / "report.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIJOURNEY_")}
    env |= {"OMNIJOURNEY_STORE_URL": config.url, "OMNIJOURNEY_SINK_PORT": str(port)}
    result = subprocess.run(
        [sys.executable, "-c", CLI, str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    journeys = latest_journeys()
    assert f"wrote {out} ({len(journeys)} journeys)" in result.stdout
    assert client.queries == len(REPORT_ANALYSES), "every analysis went through the sink's /sql"

    page = out.read_text(encoding="utf-8")
    assert not re.search(r"<script|<link|<img|@import|url\(|\bsrc=", page), "self-contained: nothing to fetch"
    dom = browse(out, tmp_path / "profile", "--dump-dom").stdout
    assert [label.split(":")[0] for label in charts(dom)] == [
        "Channel transitions",
        "Journey funnel",
        "Time to conversion",
        "Broken hand-offs by kind and store",
    ]
    flows: Counter[tuple[str, str]] = Counter()
    for found in matches(r"(\w+) → (\w+): ([\d,]+)", titles(chart(dom, "Channel transitions"), "flow")):
        flows[(found[1], found[2])] += number(found[3])
    assert flows == expected_transitions()

    reached = {
        f[1]: number(f[2]) for f in matches(r"(\w+): ([\d,]+)", titles(chart(dom, "Journey funnel"), "bar"))
    }
    assert reached == {stage: sum(j.stage in FUNNEL[i:] for j in journeys) for i, stage in enumerate(FUNNEL)}

    by_channel: Counter[str] = Counter()
    for found in matches(r"(\w+) · .+: ([\d,]+)$", titles(chart(dom, "Time to conversion"), "segment")):
        by_channel[found[1]] += number(found[2])
    assert by_channel == Counter(j.path[0] for j in journeys if j.status in ("purchase", "pickup"))
    by_kind: Counter[str] = Counter()
    for found in matches(r"(\w+) · .+: ([\d,]+)$", titles(chart(dom, "Broken hand-offs"), "segment")):
        by_kind[found[1]] += number(found[2])
    assert by_kind == Counter(a.kind for a in latest_alerts())

    image = screenshot(out, tmp_path, "report.png")
    painted = image.colours(step=2)
    assert WEB in painted, "the Sankey's web node is drawn"
    assert ADS in painted, "the Sankey's ads node is drawn"


def test_an_empty_store_gives_a_readable_report(tmp_path: Path) -> None:
    config = load_store(tmp_path / "store", data={})
    report = build_report(lambda sql: query(config, sql))
    assert report.journeys == 0
    assert report.failures == {}
    out = tmp_path / "report-empty.html"
    out.write_text(report.html, encoding="utf-8")
    dom = browse(out, tmp_path / "profile", "--dump-dom").stdout
    assert "No journeys yet" in dom
    assert charts(dom) == [], "no empty charts, words instead"
    for message in ("No channel transitions yet.", "No conversions yet.", "No broken hand-offs yet."):
        assert message in dom
    screenshot(out, tmp_path, "report-empty.png")

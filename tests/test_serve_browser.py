"""The web page of ``actscope serve`` in a real browser: Debian's headless Chromium, driven by
Playwright, against a real server and its workers. Never downloads a browser: without
``chromium`` on the PATH or the ``playwright`` package the tests skip with the reason."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from realdata import shared_path
from running_server import running_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "serve" / "page.png"
DETECT_TIMEOUT_MS = 240_000

# Records every text #job-state shows, so a test can tell the page followed the job live.
RECORD_STATES = """
document.addEventListener("DOMContentLoaded", () => {
  window.__states = [];
  const node = document.getElementById("job-state");
  new MutationObserver(() => window.__states.push(node.textContent)).observe(
    node, {childList: true, characterData: true, subtree: true});
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's ``/usr/bin/chromium``) under Playwright."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium on the PATH (Debian: apt install chromium); never downloaded")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is absent (pip install playwright)"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(browser: Any, url: str) -> tuple[Any, list[str]]:
    """A page at ``url`` and the list its uncaught JavaScript errors go to."""
    page = browser.new_page(viewport={"width": 1100, "height": 1300})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_STATES)
    page.goto(url)
    return page, errors


@pytest.mark.real_data
def test_detect_job_in_the_page(browser: Any, tmp_path: Path) -> None:
    """Upload a real clip for detect; the page follows the job, plays the overlay video, draws
    the job's segments as blocks that seek the video, and lists the job's files."""
    # A real push-up video (2.4 s, one push-up). The default model is not sure enough of any
    # of its actions in the NTU drink-water clip or mmaction2's walking demo clip (below its
    # unknown-action threshold): detect finds no segment in them, as `predict` calls them
    # "unknown action".
    clip = shared_path("pushup_form", "videos", "correct", "correct1.mp4")
    with running_server(tmp_path / "data", "--workers", "1") as server:
        page, errors = new_page(browser, server.url + "/")
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        assert page.input_value("#task") == "detect"
        page.select_option("#task", "detect")
        page.set_input_files("#file-input", str(clip))
        page.wait_for_function(
            "() => /Done|failed|cancelled/.test(document.getElementById('job-state').textContent)",
            timeout=DETECT_TIMEOUT_MS,
        )

        with server.client() as client:
            items = client.get("/v1/jobs").json()["items"]
            assert len(items) == 1, items
            job = server.wait_for(items[0]["id"], timeout=10)
        assert job["state"] == "done", job
        assert job["task"] == "detect"
        result = job["result"]
        assert result["segments"], f"detect found no segment in {clip.name}: {result}"
        page.wait_for_selector("#timeline .segment")
        assert page.eval_on_selector("#upload-progress", "bar => bar.value") == 100
        # Followed live through the event stream, to the end: never the polling fallback.
        assert f"{server.url}/v1/jobs/{job['id']}/events" in requests, requests
        assert f"{server.url}/v1/jobs/{job['id']}" not in requests, requests
        states = page.evaluate("window.__states")
        assert any("Running" in s for s in states), states  # seen live, before the end
        assert "Done" in page.text_content("#job-state")

        # One block per segment of the job, in order, with its label and times.
        blocks = page.locator("#timeline .segment")
        shown = blocks.evaluate_all(
            "els => els.map(e => [e.dataset.label, +e.dataset.start, +e.dataset.end])"
        )
        segments = result["segments"]
        assert [label for label, _, _ in shown] == [s["label"] for s in segments]
        for (_, start, end), segment in zip(shown, segments, strict=True):
            assert start == pytest.approx(segment["start"], abs=1e-6)
            assert end == pytest.approx(segment["end"], abs=1e-6)

        # The overlay video loads and decodes in Chromium (H.264 mp4).
        page.wait_for_function(
            "() => { const v = document.getElementById('player');"
            " return v.error !== null || v.readyState >= 1; }",
            timeout=30_000,
        )
        video = page.eval_on_selector(
            "#player", "v => ({error: v.error && v.error.message, duration: v.duration})"
        )
        assert video["error"] is None, f"Chromium cannot play overlay.mp4: {video['error']}"
        assert video["duration"] == pytest.approx(result["duration"], abs=0.5)

        # A click on the latest segment seeks the video to its start.
        index = max(range(len(segments)), key=lambda i: segments[i]["start"])
        start = float(blocks.nth(index).get_attribute("data-start"))
        blocks.nth(index).click()
        page.wait_for_function(
            "start => { const v = document.getElementById('player');"
            " return !v.seeking && v.readyState >= 2 && Math.abs(v.currentTime - start) <= 0.3; }",
            arg=start,
            timeout=15_000,
        )
        now = page.eval_on_selector("#player", "v => v.currentTime")
        under = [s["label"] for s in segments if s["start"] <= now < s["end"]]
        assert page.text_content("#current-action") == (under[0] if under else "–")

        if result.get("top"):
            assert page.locator("#topk li").count() == len(result["top"])
        links = page.locator("#downloads a").evaluate_all(
            "els => els.map(a => [a.textContent, a.getAttribute('href')])"
        )
        assert dict(links) == job["files"]
        assert "overlay.mp4" in job["files"]
        assert page.locator(f'#jobs li[data-id="{job["id"]}"]').count() == 1
        assert page.is_hidden("#error"), page.text_content("#error")
        assert errors == []

        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_token_asked_for_and_used(browser: Any, tmp_path: Path, videos: dict[str, Path]) -> None:
    """A server with a token: the page answers the 401 with a token field, says so when the
    token is wrong, lists the jobs once the right one is entered, takes it from #token=, and
    deletes a job with it."""
    token = "page-test-token"
    with running_server(tmp_path / "data", "--workers", "1", token=token) as server:
        with server.client() as client, videos["h264_mp4"].open("rb") as file:
            answer = client.post(
                "/v1/jobs", files={"file": ("clip.mp4", file, "video/mp4")}, data={"task": "pose"}
            )
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["id"]
        row = f'#jobs li[data-id="{job_id}"]'

        page, errors = new_page(browser, server.url + "/")
        page.wait_for_selector("#token", state="visible")
        assert page.is_visible("#error")
        message = page.text_content("#error").strip()
        assert len(message.split()) >= 3, message  # words, not a bare status code

        page.fill("#token", "wrong-token")
        page.click("#token-form button[type=submit]")
        page.wait_for_function(
            "() => /not accepted/.test(document.getElementById('error').textContent)"
        )
        assert page.is_visible("#token")

        page.fill("#token", token)
        page.click("#token-form button[type=submit]")
        page.wait_for_selector(row)
        assert page.is_hidden("#token")
        assert page.is_hidden("#error"), page.text_content("#error")
        assert page.evaluate("sessionStorage.getItem('actscope-token')") == token
        assert errors == []
        page.close()

        page, errors = new_page(browser, f"{server.url}/#token={token}")
        page.wait_for_selector(row)
        assert page.is_hidden("#token")
        assert "token" not in page.url  # taken out of the address bar

        # Delete, with the token too: a running job is cancelled, a finished one removed.
        page.click(f"{row} button.secondary")
        page.wait_for_function(
            "row => { const item = document.querySelector(row);"
            " return !item || item.textContent.includes('cancelled'); }",
            arg=row,
        )
        with server.client() as client:
            answer = client.get(f"/v1/jobs/{job_id}")
        assert answer.status_code == 404 or answer.json()["state"] == "cancelled", answer.text
        assert page.is_hidden("#error"), page.text_content("#error")
        assert errors == []


def test_refusals_shown_in_words(browser: Any, tmp_path: Path) -> None:
    """A file that is not a video: the page shows the server's own problem detail."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video\n")
    with running_server(tmp_path / "data", "--workers", "1") as server:
        with server.client() as client, notes.open("rb") as file:
            answer = client.post("/v1/jobs", files={"file": ("notes.txt", file, "text/plain")})
        assert answer.status_code == 415, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        detail = answer.json()["detail"]

        page, errors = new_page(browser, server.url + "/")
        page.wait_for_selector("#no-jobs", state="visible")  # the list answered
        page.set_input_files("#file-input", str(notes))
        page.wait_for_selector("#error", state="visible")
        assert page.text_content("#error") == detail
        assert page.is_hidden("#job")
        assert errors == []

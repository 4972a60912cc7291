"""Programme Mini App benchmark: page weight and time to first render in a real headless browser.

Run with ``.venv/bin/python bench/webapp_bench.py [--runs N] [--knowledge DIR]``. The bot runs with the
shipped knowledge (or ``DIR``) against the local Bot API fake, serving the Mini App on 127.0.0.1; the
system's Chromium (``/usr/bin/chromium``, driven by Playwright) opens it at 360 px as Telegram would, with
a signed ``initData``, in each language. The figures:

- *page weight*: the bytes of the page, its script and its style, as stored and as sent (gzip), and of the
  programme data per language (the API's JSON answer);
- *first render*: from the start of navigation until the programme list is in the page (the page's
  ``programme-rendered`` mark), and the browser's first contentful paint, with a cold cache (a new browser
  context each run) and a warm one (a reload: script and style come from the cache);
- *API*: the programme call's server time, from the browser's resource timing.

The script reports figures; it does not judge them.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import aiohttp  # noqa: E402
from bot_harness import driving, free_port  # noqa: E402
from miniapp_harness import CHROMIUM, CHROMIUM_ARGS, LIGHT, PUBLIC_URL, init_data, page_url  # noqa: E402

from index.engine import Engine  # noqa: E402

TIMING = """() => ({
  rendered: performance.getEntriesByName('programme-rendered')[0].startTime,
  fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime,
  api: performance.getEntriesByType('resource').filter(r => r.name.includes('/api/programme'))
       .map(r => r.responseStart - r.requestStart)[0],
})"""


async def fetch(http: aiohttp.ClientSession, url: str, data: str | None = None) -> tuple[bytes, int]:
    """(the body, bytes as sent with gzip accepted)."""
    headers = {"Accept-Encoding": "gzip"}
    if data:
        headers["Authorization"] = f"tma {data}"
    async with http.get(url, headers=headers) as response:
        assert response.status == 200, (url, response.status)
        sent = await response.read()
        encoding = response.headers.get("Content-Encoding", "")
    return (gzip.decompress(sent) if encoding == "gzip" else sent), len(sent)


def kb(n: int) -> str:
    return f"{n / 1024:.1f} kB"


def summary(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
    return f"median {statistics.median(values):.0f} ms, p90 {p90:.0f} ms, min {values[0]:.0f} ms"


async def weights(port: int, token: str) -> None:
    base = f"http://127.0.0.1:{port}/summit/app/"
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        html = (await fetch(http, base))[0].decode()
        files = {"index.html": base}
        for name in ("app.js", "app.css"):
            path = html.split(f'"static/{name}')[1].split('"')[0]
            files[name] = f"{base}static/{name}{path}"
        total_plain = total_sent = 0
        print("page weight (as stored / as sent with gzip):")
        for name, url in files.items():
            body, sent = await fetch(http, url)
            total_plain += len(body)
            total_sent += sent
            print(f"  {name:<11} {kb(len(body)):>9} / {kb(sent):>8}")
        print(f"  {'HTML+JS+CSS':<11} {kb(total_plain):>9} / {kb(total_sent):>8}")
        for lang in ("en", "zh", "th"):
            body, sent = await fetch(http, base + "api/programme", init_data(token, 100, lang))
            print(f"  programme data ({lang}) {kb(len(body))} / {kb(sent)}")


async def render_times(browser: Any, port: int, token: str, runs: int) -> None:
    for lang in ("en", "zh", "th"):
        cold: list[dict[str, float]] = []
        warm: list[dict[str, float]] = []
        for run in range(runs):
            context = await browser.new_context(viewport={"width": 360, "height": 740})
            page = await context.new_page()
            await page.goto(page_url(port, init_data(token, 200 + run, lang), LIGHT))
            await page.wait_for_selector("body[data-ready='1']")
            cold.append(await page.evaluate(TIMING))
            await page.reload()
            await page.wait_for_selector("body[data-ready='1']")
            warm.append(await page.evaluate(TIMING))
            await context.close()
        print(f"first render, {lang}, {runs} runs at 360 px:")
        for name, timings in (("cold cache", cold), ("warm cache", warm)):
            print(f"  {name}: programme in the page {summary([t['rendered'] for t in timings])}")
            fcp = [t["fcp"] for t in timings if t.get("fcp") is not None]
            if fcp:
                print(f"  {name}: first contentful paint {summary(fcp)}")
            api = [t["api"] for t in timings if t.get("api") is not None]
            if api:
                print(f"  {name}: programme API request to first byte {summary(api)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"no Chromium at {CHROMIUM}: install Debian's chromium package (make setup does, as root)")
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as tmp:
        print(f"loading the engine for {args.knowledge} ...", flush=True)
        engine = Engine.load(args.knowledge, Path(tmp) / "index")
        port = free_port()
        async with (
            driving(engine, Path(tmp) / "data", PUBLIC_URL=PUBLIC_URL, WEBHOOK_PORT=str(port)) as bot,
            async_playwright() as playwright,
        ):
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            print(f"Chromium {browser.version}, {len(engine.kb.sessions)} sessions\n")
            await weights(port, bot.fake.token)
            print()
            await render_times(browser, port, bot.fake.token, args.runs)
            await browser.close()


if __name__ == "__main__":
    asyncio.run(main())

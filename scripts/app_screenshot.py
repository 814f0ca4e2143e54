#!/usr/bin/env python
"""Screenshot of the web demo on a recording, for the README (headless Chromium via Selenium; needs `make demo`).

python scripts/app_screenshot.py --model outputs/demo --audio app_examples/long_recording.wav --out docs/app.png
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="outputs/demo")
    p.add_argument("--audio", default="app_examples/long_recording.wav")
    p.add_argument("--out", default="docs/app.png")
    args = p.parse_args(argv)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, str(REPO / "app.py"), "--model", args.model, "--port", str(port)], cwd=REPO
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium")
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1250"):
            opts.add_argument(flag)
        browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
        try:
            browser.get(url)
            wait = WebDriverWait(browser, 120)
            wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[type=file]"))).send_keys(
                str((REPO / args.audio).resolve())
            )
            wait.until(ec.element_to_be_clickable((By.ID, "analyse"))).click()
            wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#chart img"))
            time.sleep(1.0)  # let the image paint
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(args.out)
        finally:
            browser.quit()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The web demo, served for real on a free local port: gradio_client calls and a headless Chromium session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO

from hf_ser.labels import EMOTIONS

pytest.importorskip("gradio", reason="the web demo's extra (make install installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(*args, tmp_path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "GRADIO_TEMP_DIR": str(tmp_path / "gr"),
    }
    proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port), *args], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the app exited: {proc.stdout.read()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise AssertionError("the app did not answer within 120 s")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from hf_ser.modeling.loading import TINY_HUBERT, load_backbone

    root = tmp_path_factory.mktemp("app")
    model, fe = load_backbone(TINY_HUBERT, tiny_hidden_size=32, tiny_num_layers=2, seed=5)
    model.save_pretrained(root / "model")
    fe.save_pretrained(root / "model")
    proc, url = _serve("--model", str(root / "model"), tmp_path=root)
    yield url, root
    proc.terminate()
    proc.wait(timeout=30)


def _speech(seconds, sr=16_000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (
        0.3 * np.sin(2 * np.pi * (140 + 30 * np.sin(2 * np.pi * 0.5 * t)) * t) + 0.02 * rng.normal(size=t.shape)
    ).astype(np.float32)


def test_gradio_client_short_long_and_bad_uploads(served, tmp_path):
    from gradio_client import Client, handle_file

    url, _ = served
    client = Client(url, verbose=False)
    short = tmp_path / "short.wav"
    sf.write(short, np.stack([_speech(2.0, 44_100), _speech(2.0, 44_100, 1)], axis=1), 44_100)  # stereo, 44.1 kHz
    label, chart, csv_file, status = client.predict(handle_file(str(short)), api_name="/analyse")
    assert label["label"] in EMOTIONS and {c["label"] for c in label["confidences"]} <= set(EMOTIONS)
    assert chart is None and "classified whole" in status
    long = REPO / "app_examples" / "long_recording.wav"
    label, chart, csv_file, status = client.predict(handle_file(str(long)), api_name="/analyse")  # default: VAD
    assert Path(chart).read_bytes()[:4] == b"\x89PNG" and "speech segments" in status
    lines = Path(csv_file).read_text().splitlines()
    assert lines[0].startswith("start,end,status,label,p_angry")
    assert any(",non-speech," in line for line in lines[1:]) and any(",ok," in line for line in lines[1:])
    spans = [tuple(map(float, line.split(",")[:2])) for line in lines[1:]]
    assert spans[0][0] == 0.0 and all(a[1] == b[0] for a, b in zip(spans[:-1], spans[1:], strict=True))  # tiles
    label, chart, csv_file, status = client.predict(handle_file(str(long)), "fixed windows", api_name="/analyse")
    assert Path(chart).read_bytes()[:4] == b"\x89PNG" and "windows of 3 s" in status
    lines = Path(csv_file).read_text().splitlines()
    assert lines[0].startswith("start,end,status,label,p_angry") and len(lines) > 10
    assert any(",silence," in line for line in lines[1:])  # the 3.5 s pause
    junk = tmp_path / "notes.wav"
    junk.write_text("this is not audio " * 100)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(32_000, np.float32), 16_000)
    for path, message in ((junk, "Cannot use this file"), (empty, "empty file"), (silent, "Silence")):
        label, chart, _, status = client.predict(handle_file(str(path)), api_name="/analyse")
        assert not label and message in status, status  # the client reads an empty Label as {}
    # and it keeps serving
    assert client.predict(handle_file(str(short)), api_name="/analyse")[0]["label"] in EMOTIONS


def test_headless_chromium_uploads_a_wav_and_sees_the_label(served, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_bin, "Debian's chromium and chromium-driver are needed (make install installs them)"
    url, _ = served
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        opts.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver_bin), options=opts)
    try:
        browser.get(url)
        wait = WebDriverWait(browser, 60)
        upload = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[type=file]")))
        upload.send_keys(str(REPO / "app_examples" / "angry.wav"))
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "audio, [data-testid='waveform-Speech']")))
        wait.until(ec.element_to_be_clickable((By.ID, "analyse"))).click()
        wait.until(lambda b: any(e in b.find_element(By.ID, "emotion").text for e in EMOTIONS))
        shot = tmp_path / "app.png"
        browser.save_screenshot(str(shot))
        assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
        assert "classified whole" in browser.find_element(By.ID, "status").text
    finally:
        browser.quit()


def test_without_a_model_the_page_says_what_to_do(tmp_path):
    proc, url = _serve(tmp_path=tmp_path)  # no --model and no outputs/demo under this app's folder... see below
    try:
        with urllib.request.urlopen(url + "config", timeout=10) as r:
            config = r.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if (REPO / "outputs" / "demo" / "config.json").is_file():
        assert "No model loaded" not in config  # a checkout where make demo has run serves outputs/demo
    else:
        assert "No model loaded" in config and "make demo" in config


def test_an_offline_hub_id_is_a_message_not_a_traceback(tmp_path):
    proc, url = _serve("--model", "me/ser-model", tmp_path=tmp_path)
    try:
        with urllib.request.urlopen(url + "config", timeout=10) as r:
            config = r.read().decode()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert "hf download me/ser-model" in config and "Traceback" not in out


def test_push_to_a_space_offline_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    proc = subprocess.run([sys.executable, str(REPO / "app.py"), "--push-to-hub", "me/ser-demo"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2 and "cannot push to me/ser-demo: HF_HUB_OFFLINE is set" in proc.stderr

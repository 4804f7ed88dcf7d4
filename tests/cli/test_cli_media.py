"""`videogen-mcp generate` on the sandbox saves the clip that was asked for, with its poster (issue 12's done-when)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import av
from fakes.served import server_env

SCRIPT = Path(sys.executable).parent / "videogen-mcp"


def test_generate_saves_a_five_second_portrait_clip_and_its_poster(tmp_path):
    env = server_env(tmp_path, COLUMNS="200")
    done = subprocess.run([str(SCRIPT), "generate", "a paper boat drifting down a rainy street", "--duration", "5",
                           "--aspect-ratio", "9:16"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    saved = Path(re.search(r"Saved: (\S+\.mp4)", done.stdout).group(1))
    with av.open(str(saved)) as container:
        video = container.streams.video[0]
        assert float(video.duration * video.time_base) == 5.0
        assert video.height > video.width and (video.width, video.height) == (360, 640)
    assert "Video: 5.0 s, 360x640, 24 fps, silent" in done.stdout
    poster = Path(re.search(r"Poster: (\S+\.jpg)", done.stdout).group(1))
    assert poster == saved.with_suffix(".poster.jpg") and poster.read_bytes()[:3] == b"\xff\xd8\xff"


def test_doctor_says_what_reads_and_makes_videos(tmp_path):
    done = subprocess.run([str(SCRIPT), "doctor", "--json"], env=server_env(tmp_path), capture_output=True, text=True,
                          timeout=60)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"] is True and report["media"]["ok"] is True
    assert report["media"]["detail"].startswith(f"PyAV {av.__version__}, FFmpeg ")

"""Each vendor's wire format lives once, in providers/wire/, as pure functions; gateway files never import each
other. (The exact bodies each gateway sends are in test_mapping.py; what stock new-api makes of them in
test_stock_newapi.py.)"""

from __future__ import annotations

import ast
from pathlib import Path

from fakes.requests import req

from providers.base import ModelInfo
from providers.registry import SPECS
from providers.wire import kling, seedance, veo, vod

PROVIDERS = Path(__file__).resolve().parents[2] / "providers"
GATEWAY_MODULES = {spec.adapter.partition(":")[0] for spec in SPECS.values()}
FIRST, LAST, REF, VIDEO = "https://i/first.png", "https://i/last.png", "https://i/ref.png", "https://v/m.mp4"
# Field names only one vendor's format uses -> the module that must be the only one to write them.
VENDOR_KEYS = {"image_list": "kling", "video_list": "kling", "image_tail": "kling", "motion_video": "kling",
               "aspectRatio": "veo", "negativePrompt": "veo", "generateAudio": "veo", "role": "seedance",
               "generate_audio": "seedance"}


def written_keys(node: ast.AST) -> list[object]:
    """String keys a node writes: {"key": ...} literals and body["key"] = ... assignments."""
    if isinstance(node, ast.Dict):
        return [k.value for k in node.keys if isinstance(k, ast.Constant)]
    if isinstance(node, ast.Assign):
        targets = [t.slice for t in node.targets if isinstance(t, ast.Subscript)]
        return [t.value for t in targets if isinstance(t, ast.Constant)]
    return []


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    names |= {f"{n.module}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
              for a in n.names}
    return names | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}


def test_gateway_files_never_import_each_other():
    for module in GATEWAY_MODULES:
        path = PROVIDERS.parent / (module.replace(".", "/") + ".py")
        others = GATEWAY_MODULES - {module}
        assert not imported(path) & others, f"{module} imports another gateway file"


def test_each_vendor_field_is_written_in_one_wire_module_only():
    writers: dict[str, set[str]] = {key: set() for key in VENDOR_KEYS}
    for path in PROVIDERS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for key in written_keys(node):
                if isinstance(key, str) and key in writers:
                    writers[key].add(path.stem)
    assert writers == {key: {module} for key, module in VENDOR_KEYS.items()}


def test_kling_native_fields_per_endpoint():
    omni = ModelInfo(name="kling-v3-omni", family="kling-omni", aspect_ratios=("16:9", "9:16", "1:1"))
    body = kling.native(req(omni.name, duration=5, first_frame=FIRST, last_frame=LAST, reference_images=[REF],
                            reference_videos=[VIDEO], resolution="1080p", audio=False), omni)
    assert body == {"mode": "pro", "aspect_ratio": "16:9", "duration": "5", "sound": "off",
                    "image_list": [{"image_url": FIRST, "type": "first_frame"},
                                   {"image_url": LAST, "type": "end_frame"}, {"image_url": REF}],
                    "video_list": [{"video_url": VIDEO, "refer_type": "feature", "keep_original_sound": "no"}]}
    classic = ModelInfo(name="kling-v2-6", family="kling", aspect_ratios=("9:16",))
    request = req(classic.name, last_frame=LAST, negative_prompt="blur", first_frame=FIRST)
    assert kling.native(request, classic) == {"aspect_ratio": "9:16", "image_tail": LAST, "negative_prompt": "blur"}
    assert kling.native(request, classic, always_ratio=False) == {"image_tail": LAST, "negative_prompt": "blur"}
    assert kling.first_frame(request, classic) == FIRST and kling.first_frame(request, omni) is None


def test_veo_as_the_gemini_adaptor_reads_it():
    assert veo.fields_of(req("veo", duration=6, aspect_ratio="9:16", resolution="1080P", seed=4, audio=True,
                             negative_prompt="rain", first_frame="data:image/png;base64,AAAA")) == {
        "size": "1080x1920", "duration": 6, "image": "data:image/png;base64,AAAA",
        "metadata": {"aspectRatio": "9:16", "resolution": "1080p", "negativePrompt": "rain", "seed": 4,
                     "generateAudio": True}}
    assert veo.fields_of(req("veo")) == {"size": "1280x720"}  # Veo's defaults, said the way new-api reads them


def test_output_config_and_ark():
    assert vod.output_config(req("k", duration=5, resolution="720p", audio=False), "1:1") == {
        "duration": 5, "resolution": "720P", "aspect_ratio": "1:1", "audio_generation": "Disabled"}
    assert seedance.ark_content(req("s", first_frame=FIRST, reference_videos=[VIDEO]), text=True) == [
        {"type": "text", "text": "a red fox runs through snow"},
        {"type": "image_url", "image_url": {"url": FIRST}, "role": "first_frame"},
        {"type": "video_url", "video_url": {"url": VIDEO}, "role": "reference_video"}]

"""The suite tests the installed distribution: packages, data files and the console script all ship."""

import os
import sys
from importlib import resources
from pathlib import Path

import pytest

import providers
import server


def test_tests_run_against_the_installed_package_in_ci():
    if os.environ.get("VIDEOGEN_EXPECT_INSTALLED") != "1":
        pytest.skip("only meaningful under .ci/run, which installs the wheel")
    for package in (server, providers):
        assert "site-packages" in Path(package.__file__).parts, package.__file__


def test_wheel_ships_catalogs_sandbox_asset_and_console_script():
    assert resources.files("providers.assets").joinpath("sample.mp4").is_file()
    script = Path(sys.executable).parent / ("videogen-mcp.exe" if os.name == "nt" else "videogen-mcp")
    assert script.exists(), "console script videogen-mcp is not installed next to the interpreter"

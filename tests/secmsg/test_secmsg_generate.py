"""The flatc step: idempotent, stamp-based, clear error without flatc."""

import shutil
import subprocess
import sys
import time

import pytest

from harness.secmsg import SchemaCompileError, generate
from harness.errors import InfrastructureError


def test_generated_code_is_up_to_date_after_load():
    generate.load()
    assert generate.is_up_to_date()
    t0 = time.monotonic()
    assert generate.generate() is False  # nothing to do
    assert time.monotonic() - t0 < 0.1


@pytest.mark.skipif(shutil.which("flatc") is None, reason="flatc not installed")
def test_generate_into_fresh_dir_is_idempotent(tmp_path):
    out = tmp_path / "gen"
    assert generate.generate(out_dir=out) is True
    assert generate.is_up_to_date(out)
    assert (out / "AzureIoTSecurity" / "Message.py").is_file()
    text = (out / "AzureIoTSecurity" / "Message.py").read_text()
    assert "from AzureIoTSecurity" not in text and "from .Event import Event" in text
    assert generate.generate(out_dir=out) is False
    (out / ".stamp").write_text("stale")
    assert not generate.is_up_to_date(out)
    assert generate.generate(out_dir=out) is True
    assert not list(out.glob(".tmp-*"))


def test_missing_flatc_is_a_clear_infrastructure_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("FLATC", raising=False)
    with pytest.raises(SchemaCompileError) as info:
        generate.generate(out_dir=tmp_path / "gen")
    assert isinstance(info.value, InfrastructureError)
    assert "flatc" in str(info.value) and "flatbuffers-compiler" in str(info.value)
    monkeypatch.setenv("FLATC", str(tmp_path / "no-such-flatc"))
    with pytest.raises(SchemaCompileError, match="FLATC="):
        generate.find_flatc()


def test_module_cli_check():
    proc = subprocess.run([sys.executable, "-W", "error", "-m", "harness.secmsg.generate",
                           "--check"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "up to date" in proc.stdout

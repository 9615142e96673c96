"""The settings table: environment and file overrides, and the README agreeing with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp import settings


def test_defaults_file_and_environment(tmp_path):
    config = tmp_path / "precis.toml"
    config.write_text('page_size = 25\ndigest_length = "60 words"\n', "utf-8")
    values = settings.load({"PRECIS_PAGE_SIZE": "5", "PRECIS_READ_ONLY": "yes"}, config)
    assert values["page_size"] == 5  # the environment wins over the file
    assert values["digest_length"] == "60 words"
    assert values["read_only"] is True
    assert values["index"] == "instance/index"


@pytest.mark.parametrize(
    ("environ", "message"),
    [({"PRECIS_PAGE_SIZE": "many"}, "PRECIS_PAGE_SIZE"), ({"PRECIS_READ_ONLY": "maybe"}, "yes/no")],
)
def test_bad_values_are_named(environ, message, tmp_path):
    with pytest.raises(settings.SettingsError, match=message):
        settings.load(environ, tmp_path / "none.toml")


def test_unknown_setting_in_file(tmp_path):
    config = tmp_path / "precis.toml"
    config.write_text("colour = 'red'\n", "utf-8")
    with pytest.raises(settings.SettingsError, match="unknown setting 'colour'"):
        settings.load({}, config)


def test_readme_table_matches_the_settings():
    readme = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    start = readme.index("<!-- settings-table")
    block = readme[readme.index("\n", start) + 1 : readme.index("<!-- /settings-table -->")]
    assert block.strip() == settings.markdown_table()

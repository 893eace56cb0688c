"""One way to compare driver, toolkit, OS and Python versions."""

import pytest

from installer.core.versions import version_tuple


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("550.54.14", (550, 54, 14)),
        ("580.65.06", (580, 65, 6)),
        ("CUDA 12.6", (12, 6)),
        ("3.13.0rc1", (3, 13, 0)),
        ("14.5", (14, 5)),
        ("R580+", (580,)),
        ("", ()),
        (None, ()),
        ("unknown", ()),
    ],
)
def test_version_tuple(text: str | None, expected: tuple[int, ...]) -> None:
    assert version_tuple(text) == expected


def test_ordering_matches_what_a_driver_check_needs() -> None:
    assert version_tuple("525.60.13") < version_tuple("525.147.05")  # numeric, not lexical
    assert version_tuple("470.223.02") < version_tuple("525.60.13")
    assert version_tuple(None) < version_tuple("1")  # no version is older than any version

"""The exercise page's build context: a directory tree and a viewer of each file, highlighted
by its type on the server; the platform's large files named and never shown."""

import re

import pytest
from django.test import Client

from courses.markdown import HIGHLIGHT_MAX_BYTES
from labs.selectors_context import context_tree
from tests.factories import ExerciseFactory, UserFactory
from tests.pages import texts

pytestmark = pytest.mark.django_db

FILES = {
    "src/server.js": "const x = 1;\n",
    "src/lib/util.js": "export {};\n",
    "package.json": '{"name": "app"}\n',
    "README.md": "# App\n",
    "big.txt": "y" * (HIGHLIGHT_MAX_BYTES + 1),
}
ASSET = {"path": "vendor/Python-3.11.2.tar.gz", "url": "http://x/y", "sha256": "0" * 64, "size": 26437858}


def test_the_tree_puts_directories_first_and_numbers_files_in_its_order() -> None:
    tree = context_tree(ExerciseFactory(context_files=FILES, assets=[ASSET]))
    assert [f.path for f in tree.files] == [
        "src/lib/util.js",
        "src/server.js",
        "vendor/Python-3.11.2.tar.gz",
        "README.md",
        "big.txt",
        "package.json",
    ]
    assert [f.number for f in tree.files] == [1, 2, 3, 4, 5, 6]
    assert [d.name for d in tree.root.dirs] == ["src", "vendor"]
    assert [d.name for d in tree.root.dirs[0].dirs] == ["lib"]
    by_path = {f.path: f for f in tree.files}
    assert by_path["src/server.js"].language == "JavaScript"
    assert by_path["package.json"].language == "JSON"
    assert by_path["README.md"].language == "Markdown"
    assert by_path["big.txt"].too_large_to_highlight is True
    asset = by_path["vendor/Python-3.11.2.tar.gz"]
    assert (asset.provided, asset.html, asset.size) == (True, "", 26437858)


def test_the_page_shows_the_tree_and_a_highlighted_viewer_in_both_languages() -> None:
    exercise = ExerciseFactory(context_files=FILES, assets=[ASSET])
    client = Client()
    client.force_login(UserFactory())
    page = client.get(exercise.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Build context: 6 files" in page
    assert texts(page, "provided-tag") == ["provided"]
    assert texts(page, "provided") == ["Provided by the platform (too large to show)."]
    assert texts(page, "not-highlighted") == ["Shown without highlighting: the file is large."]
    links = re.findall(r'<a href="#context-file-(\d+)" data-path="([^"]+)">([^<]+)</a>', page)
    assert links == [
        ("1", "src/lib/util.js", "util.js"),
        ("2", "src/server.js", "server.js"),
        ("3", "vendor/Python-3.11.2.tar.gz", "Python-3.11.2.tar.gz"),
        ("4", "README.md", "README.md"),
        ("5", "big.txt", "big.txt"),
        ("6", "package.json", "package.json"),
    ]
    server = page.split('id="context-file-2"', 1)[1].split("</section>", 1)[0]
    assert '<div class="context-code" tabindex="0" role="region" aria-label="src/server.js">' in server
    assert '<span class="kd">const</span>' in server
    assert "13\xa0bytes · JavaScript" in server
    korean = client.get(exercise.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert texts(korean, "provided-tag") == ["제공됨"]
    assert texts(korean, "not-highlighted") == ["파일이 커서 구문 강조 없이 보여 줍니다."]
    assert 'aria-label="빌드 컨텍스트의 파일"' in korean


def test_a_context_file_is_escaped_in_the_viewer() -> None:
    exercise = ExerciseFactory(context_files={"x.html": "<script>alert(1)</script>\n"})
    client = Client()
    client.force_login(UserFactory())
    page = client.get(exercise.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "alert" in page

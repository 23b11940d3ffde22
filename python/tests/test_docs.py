"""The examples in docs/python.md run as written (from the repository root)."""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = open(os.path.join(ROOT, "docs", "python.md")).read()
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, flags=re.S)


def test_docs_have_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_docs_example_runs(index, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    # run as a script would be (examples that start worker processes guard on __main__)
    exec(compile(BLOCKS[index], f"docs/python.md block {index + 1}", "exec"),
         {"__name__": "__main__"})
    assert capsys.readouterr().out  # each example prints what it found

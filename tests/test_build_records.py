"""A build's compact per-clip records: rows that read like dicts, decode results in columns, shared strings, and row
groups bounded in rows as well as bytes (what keeps a build's memory flat as its corpus grows)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from hf_ser.data.build import BuildConfig, build_eight_emotions
from hf_ser.data.corpora import Utterance
from hf_ser.data.decoding import Decoded
from hf_ser.data.records import Row, rows_from


def _utterance(i: int, **kw) -> Utterance:
    # str(...) of a joined list: a fresh string object each time, as a scanner's parse makes them
    values = dict(corpus="".join(["my", "corpus"]), emotion="".join(["ang", "ry"]), speaker="".join(["spk", "1"]),
                  gender="female", text="".join(["Kids are ", "talking"]), intensity=None, path=f"/x/{i}.wav",
                  file=f"{i}.wav", key=f"{i}.wav")  # fmt: skip
    return Utterance(**{**values, **kw})


def test_utterances_share_their_repeated_strings_and_have_no_dict():
    a, b = _utterance(1), _utterance(2)
    assert a.speaker is b.speaker and a.emotion is b.emotion and a.corpus is b.corpus
    assert a.speaker == "spk1" and not hasattr(a, "__dict__")


def test_rows_read_like_dicts_and_refuse_an_unknown_field():
    row = Row(corpus="c", emotion="sad", speaker=None, extra=(("session", "1"),))
    assert row["emotion"] == "sad" and row.get("speaker") is None and row.get("given") is None
    assert row.get("no_such_field", "x") == "x" and dict(row.get("extra"))["session"] == "1"
    row["raw_label"] = "SAD"
    assert row.raw_label == "SAD"
    with pytest.raises(KeyError, match="nope"):
        row["nope"]
    with pytest.raises(KeyError, match="nope"):
        row["nope"] = 1


def test_rows_from_keeps_decoded_clips_in_order_and_reports_the_rest():
    utterances = [_utterance(i) for i in range(4)]
    decoded = Decoded(4)
    for i in (3, 0, 2):  # workers finish in any order
        decoded.put(i, (100 * i, 10 + i, f"{i:040x}", 0.5 * i, 44_100))
    decoded.put(1, "silent: peak below -60 dBFS")
    assert decoded.missing() == 0
    skipped = []
    rows = rows_from(utterances, decoded, skipped)
    assert [r["file"] for r in rows] == ["0.wav", "2.wav", "3.wav"]
    assert [(r["offset"], r["length"], r["duration"], r["orig_sr"]) for r in rows] == [
        (0, 10, 0.0, 44_100), (200, 12, 1.0, 44_100), (300, 13, 1.5, 44_100)]  # fmt: skip
    assert rows[2]["sha1"] == bytes.fromhex(f"{3:040x}") and rows[0]["text"] is rows[2]["text"]
    assert skipped == [("mycorpus", "1.wav", "audio", "silent: peak below -60 dBFS")]
    assert utterances == [None] * 4  # each record held once: the Utterances are let go as their rows are made


def test_a_clip_no_worker_returned_is_counted_missing():
    decoded = Decoded(3)
    decoded.put(0, "unreadable")
    decoded.put(2, (0, 1, "0" * 40, 0.1, 16_000))
    assert decoded.missing() == 1


def test_row_groups_hold_at_most_max_rows(small_corpora, tmp_path, monkeypatch):
    import hf_ser.data.layout as layout

    out = tmp_path / "ds"
    cfg = BuildConfig(corpora={k: str(v) for k, v in small_corpora.items()}, output_dir=str(out), overwrite=True)

    def row_groups():
        files = sorted((out / "data").glob("*.parquet"))
        return [f.metadata.row_group(g).num_rows for f in map(pq.ParquetFile, files) for g in range(f.num_row_groups)]

    build_eight_emotions(cfg)
    biggest = max(row_groups())  # the tiny clips' blocks are each one row group, well under 16 MB
    assert biggest >= 3
    monkeypatch.setattr(layout, "MAX_ROW_GROUP_ROWS", biggest - 1)
    report = build_eight_emotions(cfg)
    sizes = row_groups()
    assert max(sizes) == biggest - 1 and sum(sizes) == sum(sum(c.values()) for c in report.final.values())

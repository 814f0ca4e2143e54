"""The dataset card (README.md) of a built eight-emotion folder, via huggingface_hub.DatasetCard."""

from __future__ import annotations

import platform
from collections import Counter

from hf_ser.labels import CORPORA, CORPUS_LICENSES, EMOTIONS, merged_labels

__all__ = [
    "EVERY_CONFIG",
    "corpus_licence",
    "count_table",
    "dataset_infos",
    "licence_file",
    "render_dataset_card",
    "skipped_table",
]

# Table 2 of the paper: files per emotion and corpus in the complete corpora.
PAPER_TABLE_2 = {
    "crema_d": {"angry": 1271, "disgust": 1271, "fear": 1271, "happy": 1271, "neutral": 1087, "sad": 1271},
    "ravdess": {e: (96 if e == "neutral" else 192) for e in EMOTIONS},
    "savee": {e: (120 if e == "neutral" else 60) for e in EMOTIONS if e != "calm"},
    "tess": {e: 400 for e in EMOTIONS if e != "calm"},
}

# The part of the card every build has, whatever its corpora: configs left out and why, each config's splits,
# the row count (the own-data card shares it).
EVERY_CONFIG = """{% if left_out %}
Configs this build could not fill, and why: {% for p, why in left_out.items() %}`{{ p }}` ({{ why }}){{ ", " if not loop.last }}{% endfor %}.
{% endif %}
### Every config

| config | train | validation | test | speakers (train / validation / test) |
| --- | ---: | ---: | ---: | --- |
{% for p, c in split_counts.items() %}| `{{ p }}` | {{ c.train }} | {{ c.validation }} | {{ c.test }} | {{ speakers[p].train }} / {{ speakers[p].validation }} / {{ speakers[p].test }} |
{% endfor %}

## Counts

Rows: {{ n_total }} clips, {{ total_hours }} h of audio.

"""

TEMPLATE = (
    """---
{{ card_data }}
---

# Eight-emotion speech corpus (RAVDESS + CREMA-D + TESS + SAVEE)

Acted English speech labelled with {{ emotions | length }} emotions ({{ emotions | join(", ") }}), merged from
{{ corpus_names | join(", ") }} by [hf-ser](https://github.com/hf-ser/hf-ser).{% if label_merges %} Labels merged
at build time (`--label-map`): {% for a, b in label_merges.items() %}{{ a }} -> {{ b }}{% if not loop.last %}, {% endif %}{% endfor %}; the "in the dataset"
counts below are under the merged labels.{% endif %} Audio is decoded once, checked
(unreadable, empty and silent files are dropped), downmixed to mono and resampled to 16 kHz, so training never
resamples. Labels, speakers, gender, text and intensity come from the corpora's file-name grammars; a file whose
name does not parse is never guessed but listed in `skipped.csv`.

```python
from datasets import load_dataset

ds = load_dataset("{{ load_path }}", "speaker")  # or "random" (the paper's protocol)
```

## Protocols

| config | how | use it for |
| --- | --- | --- |
| `random` (default) | stratified by emotion x corpus, seed {{ seed }}: test {{ test_size }}, validation {{ validation_size }} | comparing with the paper and with peers, who mostly split at random |
| `speaker` | no speaker in two splits; speakers of each corpus x gender spread over the splits by file share | honest generalisation to new voices |
| `ravdess`, `crema_d`, `tess`, `savee` | one corpus alone: {{ corpus_rules }} | in-corpus results (EmoBox style) |
| `loco_<corpus>` | leave one corpus out: test = all of that corpus; train = the other corpora's `speaker` train speakers, validation = their other speakers | cross-corpus generalisation |
| `speaker_fold0` .. `speaker_fold{{ folds - 1 }}` | speaker {{ folds }}-fold cross-validation: every speaker in exactly one test fold, folds balanced by corpus and gender; fold k tests, fold k+1 validates, the rest train | mean +- std over folds (`recipes/cross_validate.py`) |

The random protocol puts the same speaker in train and test: TESS has only two speakers, so its random-split
scores near 100% say little. With the speaker protocol a corpus with very few speakers (TESS: 2, SAVEE: 4) can
be missing from a split. Report per-corpus results. Each clip is stored once (`data/`, in blocks of identical
corpus, split and fold); every config lists the blocks of each of its splits.
"""
    + EVERY_CONFIG
    + """{% for protocol, table in split_tables.items() if protocol in ("random", "speaker") %}
### `{{ protocol }}`

{{ table }}
{% endfor %}

## From the corpora to these counts

Files found by the scanners compared with Table 2 of the paper (complete corpora), then what the build dropped:

{{ scanned_table }}

{{ skipped_table }}

Every skipped file is listed with its reason in `skipped.csv` (corpus, file relative to the corpus root, stage,
reason). Byte-identical audio under two labels is dropped in every copy: which label is right is unknowable.

## Columns

| column | type | content |
| --- | --- | --- |
| `audio` | Audio (16 kHz mono) | the clip |
| `label` | ClassLabel | one of {{ emotions | join(", ") }} |
| `corpus` | ClassLabel | one of {{ all_corpora | join(", ") }} |
| `speaker` | string | corpus-prefixed speaker id, e.g. `crema_d_1001` |
| `gender` | string | `female` / `male` |
| `text` | string | the sentence or word spoken (null for SAVEE) |
| `intensity` | string | the corpus's intensity level, or null |
| `file` | string | path of the source file relative to its corpus root |
| `duration` | float32 | seconds |
| `original_sampling_rate` | int32 | the source file's rate before resampling |

## Licences and citations

A merged copy is at best non-commercial, and TESS forbids derivatives: keep pushed copies **private**. The same
list is in `LICENSE.md`, the card's `license_link`.

| corpus | licence | source | citation |
| --- | --- | --- | --- |
{% for c in licences %}| {{ c.name }} | {{ c.license }} | {{ c.homepage }} | {{ c.citation }} |
{% endfor %}

## How it was built

```
{{ command }}
```

hf-ser {{ versions.hf_ser }}, datasets {{ versions.datasets }}, Python {{ versions.python }}.
"""
)


def count_table(counter: dict[str, Counter], emotions=EMOTIONS, corpora=CORPORA, header: str = "emotion") -> str:
    """Table-2 style: emotion (label) x corpus rows, one column per split."""
    splits = list(counter)
    lines = [
        f"| {header} | corpus | " + " | ".join(splits) + " | total |",
        "| --- | --- |" + " ---: |" * (len(splits) + 1),
    ]
    totals = Counter()
    for e in emotions:
        for c in corpora:
            row = [counter[s].get((c, e), 0) for s in splits]
            if sum(row):
                lines.append(f"| {e} | {c} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
                for s, n in zip(splits, row, strict=True):
                    totals[s] += n
    lines.append("| **all** | | " + " | ".join(str(totals[s]) for s in splits) + f" | {sum(totals.values())} |")
    return "\n".join(lines)


def _scanned_table(report) -> str:
    lines = ["| corpus | emotion | Table 2 | found | in the dataset |", "| --- | --- | ---: | ---: | ---: |"]
    for c in CORPORA:
        if c not in report.scanned:
            continue
        for e in EMOTIONS:
            paper = PAPER_TABLE_2[c].get(e, 0)
            found = report.scanned[c].get(e, 0)
            final = report.final.get(c, {}).get(e, 0)
            if paper or found:
                lines.append(f"| {c} | {e} | {paper} | {found} | {final} |")
    return "\n".join(lines)


def skipped_table(report, unit: str = "files") -> str:
    if not report.skipped:
        return f"No {unit[:-1]} was skipped."
    lines = [f"| corpus | reason | {unit} |", "| --- | --- | ---: |"]
    for (corpus, reason), n in sorted(report.skipped_by_reason().items()):
        lines.append(f"| {corpus} | {reason} | {n} |")
    return "\n".join(lines)


def dataset_infos(folder, configs: dict, features):
    """A DatasetInfosDict for the card's ``dataset_info``: per config its features and, per split, the rows
    (``num_examples``) and uncompressed bytes of its Parquet blocks (``num_bytes``), with ``dataset_size`` and
    ``download_size``, read from the blocks' Parquet metadata. ``datasets.get_dataset_infos(folder)`` then reports
    split sizes as the Hub's viewer and ``load_dataset`` know them."""
    from pathlib import Path

    import pyarrow.parquet as pq
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict

    meta = {}
    infos = {}
    for config, splits in configs.items():
        split_dict = SplitDict()
        download = 0
        for split, files in splits.items():
            rows = size = 0
            for f in files:
                if f not in meta:
                    path = Path(folder) / f
                    md = pq.ParquetFile(path).metadata
                    uncompressed = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
                    meta[f] = (md.num_rows, uncompressed, path.stat().st_size)
                rows, size, download = rows + meta[f][0], size + meta[f][1], download + meta[f][2]
            split_dict.add(SplitInfo(name=split, num_bytes=size, num_examples=rows))
        infos[config] = DatasetInfo(features=features, splits=split_dict, download_size=download,
                                    dataset_size=sum(s.num_bytes for s in split_dict.values()))  # fmt: skip
    return DatasetInfosDict(infos)


def corpus_licence(corpus: str, scanned: bool = True) -> dict[str, str] | None:
    """name, license, homepage, citation of a corpus hf-ser read with its scanner (the four, or one of
    MORE_CORPORA), else None: a user's manifest that happens to be called ``emodb`` is not taken to be EmoDB."""
    from hf_ser.data.corpora import MORE_CORPORA

    if corpus in CORPUS_LICENSES:
        return CORPUS_LICENSES[corpus]
    if corpus in MORE_CORPORA and scanned:
        info = MORE_CORPORA[corpus][0]
        return {"name": info.display, "license": f"{info.licence} ({info.licence_note})", "homepage": info.homepage,
                "citation": info.citation}  # fmt: skip
    return None


def licence_file(corpora, scanned=()) -> str:
    """LICENSE.md of a build (the card's ``license_link``): each corpus's licence, source and citation."""
    lines = ["# Licences of the corpora in this dataset", "",
             "Each clip keeps the licence of the corpus it comes from (the `corpus` column); the strictest binds a "
             "copy of the whole.", ""]  # fmt: skip
    for c in corpora:
        info = corpus_licence(c, c in scanned)
        if info:
            lines += [f"## {info['name']}", "", f"- Licence: {info['license']}", f"- Source: {info['homepage']}",
                      f"- Citation: {info['citation']}", ""]  # fmt: skip
        else:
            lines += [f"## {c}", "", "- Licence: not given to the builder; the data's owner sets it.", ""]
    return "\n".join(lines)


def render_dataset_card(cfg, report, split_tables, features, *, folder, command: str | None = None):
    import datasets
    from huggingface_hub import DatasetCard, DatasetCardData

    import hf_ser

    present = [c for c in CORPORA if c in report.final]
    card_data = DatasetCardData(
        pretty_name="Eight-emotion speech (RAVDESS + CREMA-D + TESS + SAVEE)",
        language=["en"],
        license="other",
        license_name="corpus-licences",
        license_link="LICENSE.md",
        task_categories=["audio-classification"],
        task_ids=["audio-emotion-recognition"],
        tags=["speech-emotion-recognition", "hf-ser", *present],
        size_categories=[
            "10K<n<100K" if sum(map(sum, (d.values() for d in report.final.values()))) >= 10_000 else "1K<n<10K"
        ],
    )
    card_data.configs = [
        {
            "config_name": p,
            **({"default": True} if p == "random" else {}),
            "data_files": [{"split": s, "path": files} for s, files in report.configs[p].items()],
        }
        for p in report.configs
    ]
    dataset_infos(folder, report.configs, features).to_dataset_card_data(card_data)
    n_total = sum(sum(d.values()) for d in report.final.values())
    return DatasetCard.from_template(
        card_data,
        template_str=TEMPLATE,
        emotions=cfg.label_names,
        label_merges={a: b for a, b in merged_labels(EMOTIONS, cfg.label_map)[1].items() if a != b},
        all_corpora=CORPORA,
        corpus_names=[CORPUS_LICENSES[c]["name"] for c in present],
        load_path="hf_ser/eight_emotions",
        seed=cfg.seed,
        test_size=cfg.test_size,
        validation_size=cfg.validation_size,
        n_total=n_total,
        total_hours=f"{report.total_hours:.2f}",
        split_tables={p: count_table(t, cfg.label_names) for p, t in split_tables.items()},
        split_counts=report.split_counts,
        speakers=report.speakers,
        left_out=report.left_out,
        folds=cfg.folds,
        corpus_rules="; ".join(
            f"{c} {'speaker-disjoint' if r == 'speaker' else 'stratified by emotion (too few speakers to split by speaker)'}"
            for c, r in report.corpus_rule.items()
        ),
        scanned_table=_scanned_table(report),
        skipped_table=skipped_table(report),
        licences=[CORPUS_LICENSES[c] for c in present],
        command=command or "hf_ser.data.build.build_eight_emotions(...)",
        versions={"hf_ser": hf_ser.__version__, "datasets": datasets.__version__, "python": platform.python_version()},
    )

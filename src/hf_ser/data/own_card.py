"""The dataset card (README.md) of a build from a user's own data (or any mix other than the paper's four corpora)."""

from __future__ import annotations

import platform

from hf_ser.data.dataset_card import EVERY_CONFIG, corpus_licence, count_table, dataset_infos, skipped_table

__all__ = ["render_own_dataset_card"]

TEMPLATE = (
    """---
{{ card_data }}
---

# {{ title }}

Speech labelled with {{ labels | length }} classes ({{ labels | join(", ") }}), built by
[hf-ser](https://github.com/hf-ser/hf-ser) from {{ inputs | join("; ") }}. Audio is decoded once, checked (unreadable,
empty and silent files are dropped and listed in `skipped.csv`), downmixed to mono and resampled to 16 kHz.
{% if canonicalised %}Labels of different corpora meet through hf-ser's alias table: {% for a, b in canonicalised.items() %}{{ a }} -> {{ b }}{{ ", " if not loop.last }}{% endfor %}.
{% endif %}{% if merges %}Labels merged at build time (`--label-map`): {% for a, b in merges.items() %}{{ a }} -> {{ b }}{{ ", " if not loop.last }}{% endfor %}.
{% endif %}{% if kept %}Classes kept (`--labels`): {{ kept | join(", ") }}; clips of the others are in `skipped.csv`.
{% endif %}{% if absent %}Labels the data declares but no clip carries (not made classes): {{ absent | join(", ") }}.
{% endif %}
```python
from datasets import load_dataset

ds = load_dataset("{{ load_path }}", "{{ first_config }}")
```

## Protocols

| config | how |
| --- | --- |
{% for p, how in protocol_rules %}| `{{ p }}` | {{ how }} |
{% endfor %}
Every rule is deterministic for the seed ({{ seed }}): a re-build, `recipes/train.py` and `recipes/eval.py score` see
the same clips in each split.
"""
    + EVERY_CONFIG
    + """{% for protocol, table in split_tables.items() %}
### `{{ protocol }}`

{{ table }}
{% endfor %}

## How the inputs were read

| corpus | input | kind | columns | clips | skipped |
| --- | --- | --- | --- | ---: | ---: |
{% for s in sources %}| {{ s.corpus }} | `{{ s.location }}` | {{ s.kind }} | {{ s.columns }} | {{ s.clips }} | {{ s.skipped }} |
{% endfor %}
{% for note in notes %}- {{ note }}
{% endfor %}
{{ skipped_table }}

## Columns

| column | type | content |
| --- | --- | --- |
| `audio` | Audio (16 kHz mono) | the clip |
| `label` | ClassLabel | one of {{ labels | join(", ") }} |
| `corpus` | ClassLabel | one of {{ corpora | join(", ") }} |
| `speaker` | string | corpus-prefixed speaker id (null where the data names none) |
| `gender`, `text`, `intensity`, `language` | string | from the data where it has them |
| `raw_label` | string | the label as the data spells it |
| `file` | string | the source file, relative to its input |
| `duration` | float32 | seconds |
| `original_sampling_rate` | int32 | the source's rate before resampling |
{% for c in extra %}| `{{ c }}` | string | the data's own column |
{% endfor %}
{% if licences %}
## Licences and citations

| corpus | licence | source | citation |
| --- | --- | --- | --- |
{% for c in licences %}| {{ c.name }} | {{ c.license }} | {{ c.homepage }} | {{ c.citation }} |
{% endfor %}
{% endif %}
The licence of a user's own data is its owner's to state; keep pushed copies private until it is.

## How it was built

```
{{ command }}
```

hf-ser {{ versions.hf_ser }}, datasets {{ versions.datasets }}, Python {{ versions.python }}.
"""
)

_RULES = {
    "default": "the data's own splits{carved}",
    "random": "stratified by label x corpus: test {test}, validation {val}",
    "speaker": "no speaker in two splits; speakers of each corpus x gender dealt so that each split gets its share of "
    "every label (stratified by label)",
}


def _rules(report, cfg, carved: bool) -> list[tuple[str, str]]:
    out = []
    for p in report.configs:
        if p in _RULES:
            how = _RULES[p].format(test=cfg.test_size, val=cfg.validation_size,
                                   carved=" (validation: the train clips the speaker protocol validates on)" if carved else "")  # fmt: skip
        elif p.startswith("loco_"):
            how = f"leave one corpus out: test = all of {p.removeprefix('loco_')}; train and validation = the others'"
        elif "emobox_fold" in p:
            corpus = p.split("_emobox_fold")[0] if not p.startswith("emobox_fold") else next(iter(report.emobox_rule))
            how = (f"EmoBox's rule for {corpus}: {report.emobox_rule.get(corpus, '?')}; test as the rule says, "
                   "validation = the train clips of the random split's validation (EmoBox trains without one)")  # fmt: skip
        elif p.startswith("speaker_fold"):
            how = (f"speaker {cfg.folds}-fold: every speaker in one test fold, folds stratified by label; fold k tests, "
                   "fold k+1 validates, the rest train")  # fmt: skip
        else:
            rule = report.corpus_rule.get(p)
            how = (
                f"{p} alone, {'speaker-disjoint' if rule == 'speaker' else 'stratified at random (too few speakers)'}"
            )
        out.append((p, how))
    return out


def render_own_dataset_card(cfg, report, split_tables, features, *, folder, command: str | None = None):
    import datasets
    from huggingface_hub import DatasetCard, DatasetCardData

    import hf_ser

    corpora = list(features["corpus"].names)
    n_total = sum(sum(d.values()) for d in report.final.values())
    card_data = DatasetCardData(
        pretty_name=f"{', '.join(corpora)} (hf-ser build)",
        # a user's own corpus has the licence its owner gives it, which the builder is not told
        **(
            {"license": "other", "license_name": "corpus-licences", "license_link": "LICENSE.md"}
            if any(corpus_licence(c, c in cfg.more_corpora) for c in corpora)
            else {"license": "unknown", "license_link": "LICENSE.md"}
        ),
        task_categories=["audio-classification"],
        task_ids=["audio-emotion-recognition"],
        tags=["speech-emotion-recognition", "hf-ser", *corpora],
        size_categories=["n<1K" if n_total < 1000 else "1K<n<10K" if n_total < 10_000 else "10K<n<100K"],
    )
    first = next(p for p in ("default", "speaker", *report.configs) if p in report.configs)
    card_data.hf_ser_left_out = dict(report.left_out)  # read back by hf_ser.data.loading to say why a config is absent
    card_data.configs = [
        {"config_name": p, **({"default": True} if p == first else {}),
         "data_files": [{"split": s, "path": files} for s, files in report.configs[p].items()]}
        for p in report.configs
    ]  # fmt: skip
    dataset_infos(folder, report.configs, features).to_dataset_card_data(card_data)
    plan = report.label_plan
    locations = {**cfg.corpora, **cfg.more_corpora, **cfg.sources}
    sources = [{"corpus": s.corpus, "location": locations.get(s.corpus, s.root), "kind": s.kind,
                "columns": ", ".join(f"{r}: `{c}`" for r, c in s.columns.items() if c),
                "clips": s.n_utterances, "skipped": len(s.skipped)} for s in report.sources]  # fmt: skip
    carved = "default" in report.configs and not any(s.gives_validation for s in report.sources)
    extra = [c for c in features if c not in ("audio", "label", "corpus", "speaker", "gender", "text", "intensity",
                                             "language", "raw_label", "file", "duration", "original_sampling_rate")]  # fmt: skip
    return DatasetCard.from_template(
        card_data,
        template_str=TEMPLATE,
        title=f"{', '.join(corpora)}: speech emotion dataset",
        labels=report.label_names,
        inputs=[f"{c} (`{p}`)" for c, p in locations.items()],
        canonicalised=plan.canonicalised if plan else {},
        merges=plan.merges if plan else {},
        kept=cfg.labels or [],
        absent=plan.absent if plan else [],
        load_path=report.output_dir,
        first_config=first,
        protocol_rules=_rules(report, cfg, carved),
        seed=cfg.seed,
        left_out=report.left_out,
        split_counts=report.split_counts,
        speakers=report.speakers,
        n_total=n_total,
        total_hours=f"{report.total_hours:.2f}",
        split_tables={
            p: count_table(t, report.label_names, corpora, header="label")
            for p, t in split_tables.items()
            if p in ("default", "speaker") or p == first
        },  # fmt: skip
        sources=sources,
        notes=[n for s in report.sources for n in s.notes],
        skipped_table=skipped_table(report, unit="clips"),
        corpora=corpora,
        extra=extra,
        licences=[
            corpus_licence(c, c in cfg.more_corpora) for c in corpora if corpus_licence(c, c in cfg.more_corpora)
        ],
        command=command or "hf_ser.data.build.build_dataset(...)",
        versions={"hf_ser": hf_ser.__version__, "datasets": datasets.__version__, "python": platform.python_version()},
    )

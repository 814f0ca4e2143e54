#!/usr/bin/env python
"""hf-ser's web demo (Gradio, Hugging Face Spaces layout): record or upload speech, see its emotions.

    make app                                   # outputs/demo (after `make demo`) on http://127.0.0.1:7860
    python app.py --model outputs/demo --port 7861
    python app.py --model ORG/hubert-large-ser # a Hub id (needs the Hub)
    python app.py --model outputs/demo --push-to-hub ORG/ser-demo   # upload as a Space (private)

On a Space, set the model with the HF_SER_MODEL variable (default: the model folder pushed with the app).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "src"))  # a checkout without `pip install` (and a Space, where hf_ser is copied in)

DEFAULT_MODEL = "outputs/demo"
EXAMPLES = HERE / "app_examples"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--model",
        default=os.environ.get("HF_SER_MODEL"),
        help=f"checkpoint folder or Hub id (default: {DEFAULT_MODEL})",
    )
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    p.add_argument("--push-to-hub", metavar="SPACE", help="upload the app and its model as a (private) Space")
    p.add_argument("--public", action="store_true", help="make the pushed Space public")
    args = p.parse_args(argv)

    from hf_ser.hub import HubUnavailableError
    from hf_ser.inference.app_support import load_for_app, push_space

    if args.model:
        model = args.model
    elif (HERE / "model" / "config.json").is_file():  # a pushed Space carries its model here
        model = str(HERE / "model")
    else:
        model = str(HERE / DEFAULT_MODEL)
    if args.push_to_hub:
        try:
            url = push_space(args.push_to_hub, model, HERE, private=not args.public)
        except (HubUnavailableError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"Pushed the app to {url}")
        return 0
    from hf_ser.inference.webapp import build_app

    predictor, problem = load_for_app(model, default=args.model is None)
    examples = sorted(str(e) for e in EXAMPLES.glob("*.wav")) if EXAMPLES.is_dir() else []
    app = build_app(predictor, model_name=model, problem=problem, examples=examples)
    print(f"hf-ser app: {model} on http://{args.host}:{args.port}" + (f" ({problem})" if problem else ""), flush=True)
    app.launch(server_name=args.host, server_port=args.port, show_error=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write ``latency_before.json``: every shipped profile's prediction of every zoo model at its
default input, per runtime option (what ``tests/latency/test_forms.py`` compares with).

Run it only when a shipped profile changes on purpose:
``python tests/data/record_latency.py tests/data/latency_before.json``."""
import json
import sys

import costlab
from costlab.latency.breakdown import class_breakdown
from costlab.latency.predict import predict
from costlab.latency.profile import load_profile, shipped_profiles
from costlab.zoo.registry import list_models


def main(path: str) -> None:
    out = {}
    profiles = {n: load_profile(n) for n in shipped_profiles()}
    for e in list_models():
        rep = costlab.analyze(e.name)
        for name, prof in profiles.items():
            for rt in (prof.form.runtimes or (None,)):
                r = predict(rep, prof, rt)
                out[f"{name}|{rt or '-'}|{e.name}"] = {
                    "total": r.totals["latency_ms"], "sum": float(sum(r.layers["latency_ms"])),
                    "classes": class_breakdown(rep, prof, rt)}
    with open(path, "w") as f:
        json.dump(out, f, indent=0, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])

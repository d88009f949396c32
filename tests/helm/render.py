#!/usr/bin/env python3
"""Render and lint a Helm chart with the real Helm v4 SDK (PyPI `helm-python-sdk`,
the Go Helm library behind a C ABI; no helm binary), for tests/helm_chart.rs.

    render.py CHART [VALUES.yaml] [--release NAME] [--namespace NS]

Prints one JSON object: {"sdk": version, "manifests": {template path: text},
"lint": lint report with strict=True}. A values file is merged over the chart's
values.yaml exactly as `helm template -f` would. Exit 3 when the SDK is not
installed, 2 on a render or usage error (message on stderr).
"""
import json
import sys


def main(argv):
    try:
        import helm_python
    except ImportError as e:  # the caller skips loudly or fails under REQUIRE_REAL
        print(f"helm-python-sdk not importable: {e}", file=sys.stderr)
        return 3
    args = list(argv)
    release, namespace = "cv", "monitoring"
    for flag in ("--release", "--namespace"):
        if flag in args:
            i = args.index(flag)
            if i + 1 >= len(args):
                print(f"{flag} needs a value", file=sys.stderr)
                return 2
            value = args[i + 1]
            del args[i : i + 2]
            if flag == "--release":
                release = value
            else:
                namespace = value
    if len(args) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    chart_dir = args[0]
    values = {}
    if len(args) == 2:
        with open(args[1], encoding="utf-8") as f:
            values = helm_python.values_from_yaml(f.read()) or {}
    helm_python.disable_logging()
    try:
        chart = helm_python.Chart.load(chart_dir)
        manifests = chart.render(
            values=values, name=release, namespace=namespace, is_install=True
        )
        lint = helm_python.lint(chart_dir, values, strict=True, namespace=namespace)
    except helm_python.HelmError as e:
        print(f"helm: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    out = {
        "sdk": helm_python.helm_sdk_version(),
        "manifests": manifests,
        "lint": lint,
    }
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

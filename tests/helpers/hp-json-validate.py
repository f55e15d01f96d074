#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# hp-json-validate.py SCHEMA_DIR NAME FILE [--lines]
# hp-json-validate.py SCHEMA_DIR --list LISTFILE   (lines: NAME FILE [--lines])
# Validate FILE (one JSON document, or with --lines one per line) against
# SCHEMA_DIR/NAME.schema.json, resolving references between the schema files.
# Exit 0 valid, 1 invalid (the first error is printed), 77 no validator.
import glob
import json
import os
import sys
import warnings

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(77)


def validator_for(schema_dir, name):
    schemas = {}
    for path in glob.glob(os.path.join(schema_dir, "*.schema.json")):
        with open(path) as f:
            s = json.load(f)
        schemas[s["$id"]] = s
    root = schemas[next(k for k in schemas if k.endswith("/" + name + ".schema.json"))]
    cls = jsonschema.validators.validator_for(root)
    cls.check_schema(root)
    try:
        from referencing import Registry, Resource
        reg = Registry().with_resources((k, Resource.from_contents(v)) for k, v in schemas.items())
        return cls(root, registry=reg)
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            resolver = jsonschema.RefResolver.from_schema(root, store=schemas)
            return cls(root, resolver=resolver)


def main():
    if sys.argv[2] == "--list":
        rc = 0
        with open(sys.argv[3]) as f:
            for line in f:
                w = line.split()
                if w:
                    rc |= check(sys.argv[1], w[0], w[1], "--lines" in w[2:])
        return rc
    return check(sys.argv[1], sys.argv[2], sys.argv[3], "--lines" in sys.argv[4:])


def check(schema_dir, name, path, lines):
    v = validator_for(schema_dir, name)
    with open(path) as f:
        text = f.read()
    docs = [l for l in text.splitlines() if l.strip()] if lines else [text]
    if not docs:
        print(f"{path}: no JSON document", file=sys.stderr)
        return 1
    for i, d in enumerate(docs):
        try:
            inst = json.loads(d)
        except ValueError as e:
            print(f"{path}: document {i + 1} is not JSON: {e}", file=sys.stderr)
            return 1
        errs = sorted(v.iter_errors(inst), key=lambda e: list(e.absolute_path))
        if errs:
            e = errs[0]
            where = "/".join(str(p) for p in e.absolute_path) or "(top)"
            print(f"{path}: document {i + 1} does not match {name}: at {where}: {e.message}", file=sys.stderr)
            return 1
    return 0


sys.exit(main())

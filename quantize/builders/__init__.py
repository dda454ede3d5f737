"""One builder per recipe kind: `build(recipe, source, out, log)` writes `out` or raises."""

"""What ships beside the code: the demo museum's generator (`resources.demo_museum`), the site
file's JSON Schema (`site.schema.json`) and the console's stylesheet (`theme/`).

Layering: `resources` may use `console` and `inference`, never `ui` or Qt; the core never imports
it, except `nightwatch demo` (console/commands/demo.py), lazily (tests/unit/test_layering.py).
"""

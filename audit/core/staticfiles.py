"""The static files storage outside DEBUG: WhiteNoise's compressed manifest storage (hashed
names, served with a far-future cache), with Django's rewriting of JavaScript module imports
turned on, so the rating page's ES modules (annotations/static/annotations/rate/) import each
other by their hashed names too: a cached module never pairs with a newer one after a deploy."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    # `import ... from "./x.js";` and `export ... from "./x.js";` (the semicolon is needed)
    # are rewritten to "./x.<hash>.js" by collectstatic.
    support_js_module_import_aggregation = True

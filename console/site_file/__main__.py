"""`python -m console.site_file --schema`: print the site file's JSON Schema."""

import sys

from console.site_file.schema_export import main

sys.exit(main(sys.argv[1:]))

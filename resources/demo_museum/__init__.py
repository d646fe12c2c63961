"""The demo museum: a floor plan, a site file and demo clips, generated once into the user's cache.

`build_demo_site()` writes a complete site that `load_site` accepts, in the cache folder beside
the fetched media (`~/.cache/nightwatch/demo-site/` by default):

    demo-site/
      README.txt           where the footage comes from and why it is never committed
      site.yaml            64 cameras over eight galleries, a corridor, an entrance hall,
                           a staff-only store and a staff entrance; artworks; guards; routes
      plans/ground.png     the floor plan, drawn with OpenCV (2800 x 1520 px, 0.02 m per pixel)
      clips/clip-N.mp4     eight 640x360 clips derived from vtest.avi (crop, mirror, time offset,
                           colour or infrared look), MPEG-4 part 2 ('mp4v')
      clips/manifest.json  the recipe the clips were made with (reused while it matches)

**Licence.** The clips are cut at run time from `vtest.avi` of Debian's `opencv-doc` package
(people walking on a campus path; it appears to come from the PETS 2009 data set: research use
with acknowledgement; its licence is unclear). They are derived into the user's cache, never
committed to the repository or bundled; `bash packaging/fetch-media.sh` fetches the source.

**What the demo shows within its first minute.** Every artwork with an `image_regions` entry has
its region placed on the part of its camera's clip where people really walk, so proximity alarms
arise in the first minute of the video (tests/unit/test_demo_site.py checks it with the offline
person detector). The opening hours carry a date exception that closes the museum on the day the
demo is built, so people in the armed zones (the treasury, the staff-only store, the staff
entrance) raise after-hours alarms at once. The other galleries are not armed: every demo camera
sees people all the time, and with every zone armed all 64 cameras would alarm together.

**Clips and cameras.** The cameras of one room always play different clips, and cameras that
share a clip start it at different moments (`clip.mp4#t=S`), except those that watch an artwork,
which start at 0, where people reach it within the first minute. Decoding 640x360 'mp4v' costs
about 0.3 ms a frame here (MJPG: 0.7 ms, and five times the size), so 64 cameras at 10 frames/s
take about a fifth of one core.

Generation is deterministic (the same `now` gives byte-identical site.yaml and plan) and reuses
what is up to date: the clips are rebuilt only when their recipe or the source changed, the plan
and the site file are rewritten only when their content differs.

One module per job: `layout` (rooms, artworks), `clips` (the clips and their recipe), `cameras`
(where the cameras hang, which clip each plays), `plan_drawing` (the plan image), `site_yaml`
(the site file's text) and `build` (all of it, written or reused in a folder).
"""

from resources.demo_museum.build import build_demo_site, default_demo_dir
from resources.demo_museum.cameras import DEMO_CAMERAS, MAX_CAMERAS
from resources.demo_museum.clips import CLIP_SIZE_PX, CLIPS, SOURCE_CLIP, ClipRecipe, clip_path
from resources.demo_museum.layout import DemoArtwork, DemoRoom, demo_layout

__all__ = [
    "CLIPS",
    "CLIP_SIZE_PX",
    "DEMO_CAMERAS",
    "MAX_CAMERAS",
    "SOURCE_CLIP",
    "ClipRecipe",
    "DemoArtwork",
    "DemoRoom",
    "build_demo_site",
    "clip_path",
    "default_demo_dir",
    "demo_layout",
]

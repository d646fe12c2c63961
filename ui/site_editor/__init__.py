"""The supervisor's site editor (issue 17's UI) and walk test, over the core's pieces.

    ui/site_editor/window.py          SiteEditorWindow: tools, tabs, problems, save, revert
    ui/site_editor/draft.py           SiteDraft: the edited copy, undoable commands, the check
    ui/site_editor/canvas.py          PlanCanvas: zones, objects (halo), cameras (view cone)
    ui/site_editor/item_panel.py      the selected item's fields, problems shown as typed
    ui/site_editor/fields.py          the form fields over the draft
    ui/site_editor/schedule.py        hours, exceptions, zone arming, rule tuning, alert routes
    ui/site_editor/camera_dialog.py   a camera's stream, with its connection test
    ui/site_editor/frames.py          live frames: from the rings, or a stream opened off-thread
    ui/site_editor/panes.py           a picture with numbered points (calibration, outlines)
    ui/site_editor/calibration_view.py calibration by eye: errors, grid, footprint, horizon
    ui/site_editor/outline_dialog.py  an object's outline on a camera's live frame
    ui/site_editor/try_rules_view.py  try before arming: a timeline with snapshots
    ui/site_editor/walk_test_view.py  the walk test, its report and export
    ui/site_editor/plan_import.py     plan images (PNG, JPEG; PDF and SVG rendered)

The editor saves through the core's service layer (`console.site_actions.ApplySite`); it never
writes the site file or the store itself.
"""

from ui.site_editor.walk_test_view import WalkTestWindow
from ui.site_editor.window import SiteEditorWindow

__all__ = ["SiteEditorWindow", "WalkTestWindow"]

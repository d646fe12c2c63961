"""The vision layer: cameras in, tracked people out. Knows nothing of alarms, the site or Qt."""

"""Person detector backends behind one interface (see `base.Detector`)."""

"""Hall-edge sensors: the camera footfall counter (people in and out through a doorway line)."""

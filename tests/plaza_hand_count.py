"""Hand counts of the oblique plaza clip (``shared/data/footfall/pets09_s2l1_vtest_480x360.avi``,
480x360, 10 fps, 795 frames), made here by looking at the frames; used by the tests and by
``bench/oblique_bench.py``.

PEOPLE: every person visible on five frames, as a point on their body (native pixels). Frame 100
has one person standing behind the blue sign (head and legs visible only) and one far away on the
path at the top left (about 20 px tall).

WALKWAY_IN / WALKWAY_OUT: the frames where a person's feet crossed the line x = 240 (the line
``240,0,240,360``, across the walkway), going from beyond 8 px on one side to beyond 8 px on the
other. For that line drawn top to bottom ``in`` is right to left, ``out`` left to right. Found
from contact sheets of the strip 195 <= x < 285 every 5 frames, and crops around each candidate
crossing every 10 frames. Judgement calls: a man stands with his feet on the line from frame 30 to
145 and only then walks on to the right (counted once, at 150); a woman on the grass walks over the
line and back (617 out, 634 in: both counted); two people cross together at the bottom edge at
531; a man at the top walks up to the line and back (frames 330-370, inside the band: not
counted); one person is on the line when the clip ends (not counted). Expect +-2 on a recount.
"""

PEOPLE = {
    100: [(143, 48), (226, 148), (245, 135), (274, 145), (315, 115), (330, 117), (378, 120)],
    200: [(59, 115), (146, 143), (313, 115), (430, 80), (445, 80), (395, 197), (452, 190)],
    300: [(125, 122), (158, 118), (194, 120), (205, 157), (372, 123), (394, 125)],
    600: [(123, 112), (363, 152), (430, 145), (295, 225), (410, 222), (190, 315)],
    700: [(76, 212), (124, 126), (184, 157), (238, 133), (259, 110), (303, 105), (332, 125), (440, 162)],
}

WALKWAY_LINE = (240.0, 0.0, 240.0, 360.0)
MIDDLE_LINE = (0.0, 180.0, 480.0, 180.0)
WALKWAY_IN = [63, 160, 182, 222, 254, 281, 290, 491, 531, 531, 567, 634, 643, 690, 709, 753, 775]
WALKWAY_OUT = [105, 150, 314, 334, 350, 465, 593, 617, 681, 703, 747, 785]
SLACK = 15  # frames: a counted crossing matches a hand-counted one this close (it counts once settled)


def people_found(boxes, points, margin: float = 2.0) -> tuple[int, int]:
    """(people found, boxes left over): each point is matched to at most one box that contains it."""
    free = list(range(len(boxes)))
    found = 0
    for px, py in points:
        inside = [i for i in free if boxes[i][0] - margin <= px <= boxes[i][0] + boxes[i][2] + margin
                  and boxes[i][1] - margin <= py <= boxes[i][1] + boxes[i][3] + margin]
        if inside:
            free.remove(min(inside, key=lambda i: abs(boxes[i][0] + boxes[i][2] / 2 - px)
                            + abs(boxes[i][1] + boxes[i][3] / 2 - py)))
            found += 1
    return found, len(free)


def matched(counted: list[int], hand: list[int], slack: int = SLACK) -> tuple[int, int, int]:
    """(right, wrong, missed): counted crossing frames against hand-counted ones, one to one."""
    free = list(hand)
    right = 0
    for frame in sorted(counted):
        near = [h for h in free if abs(h - frame) <= slack]
        if near:
            free.remove(min(near, key=lambda h: abs(h - frame)))
            right += 1
    return right, len(counted) - right, len(free)

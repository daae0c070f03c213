"""The pages' QR codes (app.web.qr) read back: the SVG's modules drawn into a bitmap and decoded
with OpenCV's QR detector, as a phone's camera would."""
import re

import cv2
import numpy as np

from app.web.qr import svg


def decode(svg_bytes: bytes) -> str:
    side = int(re.search(rb'viewBox="0 0 (\d+) ', svg_bytes).group(1))
    path = re.search(rb' d="([^"]+)"', svg_bytes).group(1).decode()
    image = np.full((side, side), 255, np.uint8)
    for x, y in re.findall(r"M(\d+),(\d+)H", path):  # one square a dark module
        image[int(y), int(x)] = 0
    big = cv2.resize(image, (side * 10, side * 10), interpolation=cv2.INTER_NEAREST)
    return cv2.QRCodeDetector().detectAndDecode(big)[0]


def test_a_pages_address_reads_back_from_its_qr_code_sized_in_pixels():
    url = "https://hall.example.cn/t/6f1c0d2e9a7b4c3d8e5f"
    out = svg(url, module_px=4)
    assert out.startswith(b"<svg ") and b"mm" not in out.split(b">", 1)[0]
    side = int(re.search(rb'viewBox="0 0 (\d+) ', out).group(1))
    assert f'width="{side * 4}px"'.encode() in out
    assert decode(out) == url
    assert decode(svg("https://hall.example.cn/join/ZZ-EQ", module_px=8)) == "https://hall.example.cn/join/ZZ-EQ"

"""The HTTP adapter: the API (``api``), the pages (kiosk, console, display, phone, manager,
reports, administration) and the live screens' Socket.IO hub (``live``). It calls the use cases of
``app.services``, which never import from here (see ``tests/unit/test_layers.py``)."""

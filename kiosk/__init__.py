"""The kiosk's hardware at the hall entrance: the ticket printer (``kiosk.printer``)."""

"""Forecasting and staffing: pure Python with numpy and scikit-learn, no Flask, no database.

- arrivals per interval per hall: features from the calendar (China's holidays and
  adjusted working days), opening hours and recent level; quantile models beside
  the seasonal-naive and recent-average baselines;
- staffing: Erlang C, Erlang A (with patience), a discrete-event simulation of a hall,
  and a day's counter plan in shift blocks;
- `queue_log`: the real call-centre log used to calibrate them.
"""

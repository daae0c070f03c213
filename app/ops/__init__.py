"""Operations: what a monitoring system and an operator read from every role.

``metrics``  Prometheus metrics (prometheus_client): what each process counts, the queue's
             levels kept from the events, the exposition (gunicorn's multiprocess files in web).
``logs``     JSON lines on stderr, one a request (with the events it committed), each with its request id.
``health``   readiness: the database and Redis reachable, the schema at the code's migration.
``server``   a small HTTP server for a process that has no web server (the scheduler).

See README, "Operations".
"""

"""Use cases. Each public function is one transaction; entry points (HTTP, sockets, jobs) call these."""

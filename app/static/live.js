/* The live protocol, client side (see app/web/live.py), shared by the display, the counter
 * console, the phone page, the kiosk and the manager's page. Socket.IO's client is the vendored
 * classic script (static/vendor/socket.io.min.js): window.io.
 *
 * A full snapshot arrives on every (re)connect and whenever we ask ("resync"); deltas
 * carry the hall's sequence number. A delta that skips a number means we missed
 * something: apply it and ask for a snapshot.
 * Snapshots older than what we already applied are ignored. A screen that hears
 * nothing for WATCHDOG_MS asks again, so a display left running for days heals itself.
 *
 * Calls (options.onCall): every call is handed on exactly once, the rule for what a display reads
 * out. A call comes in its TicketCalled delta, or, when that delta was lost or overtaken by a
 * snapshot (whose seq then covers it, so the delta is dropped above), in a later snapshot's
 * recent_calls. Both carry the call's call_id (a recall is a new call, with its own id). The
 * page's first snapshot only notes the calls it lists (old news: nothing is read out on a load);
 * any later one (a resync, a push, a reconnect) hands on those not heard yet and at most
 * CALL_FRESH_MS old, the age read from the snapshot's own times (the server's, not this
 * machine's clock), so a screen back after minutes reads out no backlog.
 */
const WATCHDOG_MS = 75 * 1000;
const CALL_FRESH_MS = 90 * 1000;
const CALLS_KEPT = 200;  // call ids remembered (a snapshot lists ten)

export class HallLive {
  constructor(options) {
    this.seq = -1;
    this.options = options;
    this.calls = new Set();  // ids of the calls handed on, or listed in the first snapshot
    this.held = false;  // a snapshot was applied: the next ones may bring calls we missed
    this.lastMessage = Date.now();
    this.connected = false;
    const socket = this.socket = window.io({
      transports: ["websocket"],
      auth: options.token ? { token: options.token } : undefined,
      query: options.query || {},
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });

    const heard = () => { this.lastMessage = Date.now(); };
    const status = (ok, why) => {
      this.connected = ok;
      if (options.onStatus) options.onStatus(ok, why);
    };

    // the server sends the snapshot from its connect handler, which can reach us before
    // our own "connect" event: forget the sequence when the connection drops, not when it opens
    socket.on("connect", () => { heard(); status(true); });
    socket.on("disconnect", (reason) => {
      this.seq = -1;
      status(false, reason);
      // the server ended the session (e.g. its restart refused us): keep trying anyway
      if (reason === "io server disconnect") setTimeout(() => { socket.connect(); }, 1000);
    });
    socket.on("connect_error", (err) => {
      status(false, err && err.message);
      // a refused connection is not retried by the client library: a bad token stays bad,
      // but a restarting server also refuses for a moment, so retry slowly
      if (!socket.active) setTimeout(() => { socket.connect(); }, 3000);
    });
    // (methods, so a test can stand between the socket and them: hold a delta back, drop it)
    socket.on("snapshot", (snap) => { heard(); this.snapshot(snap); });
    socket.on("delta", (delta) => { heard(); this.delta(delta); });
    for (const name of ["counter", "ticket"]) {
      socket.on(name, (data) => {
        heard();
        const handler = options["on" + name.charAt(0).toUpperCase() + name.slice(1)];
        if (handler) handler(data);
      });
    }
    setInterval(() => {
      if (this.connected && Date.now() - this.lastMessage > WATCHDOG_MS) {
        heard();
        socket.emit("resync");
      }
    }, 5000);
  }

  snapshot(snap) {
    const options = this.options;
    if (this.seq >= 0 && snap.seq < this.seq) return;  // older than what we hold
    this.seq = snap.seq;
    const missed = options.onCall ? this.missedCalls(snap) : [];
    this.held = true;
    if (options.onSnapshot) options.onSnapshot(snap);
    if (options.onCall) for (const call of missed) options.onCall(call);
  }

  delta(delta) {
    const options = this.options;
    if (this.seq >= 0 && delta.seq <= this.seq && !options.everyDelta) return;  // already in our state
    const gap = this.seq >= 0 && delta.seq > this.seq + 1 && !options.everyDelta;
    this.seq = Math.max(this.seq, delta.seq);
    if (options.onDelta) options.onDelta(delta);
    // a call without an id (a server from before them) is handed on as it comes
    if (delta.event === "TicketCalled" && options.onCall && (delta.call_id == null || this.heardCall(delta.call_id)))
      options.onCall(delta);
    if (gap) this.socket.emit("resync");
  }

  /* The snapshot's calls not heard yet and still fresh, oldest first; all of them noted as heard. */
  missedCalls(snap) {
    const now = Date.parse(snap.at), missed = [];
    for (const call of (snap.recent_calls || []).slice().reverse()) {
      if (call.call_id == null || !this.heardCall(call.call_id)) continue;
      if (this.held && now - Date.parse(call.at) <= CALL_FRESH_MS) missed.push(call);
    }
    return missed;
  }

  /* Notes a call as heard: true if it was not yet. */
  heardCall(id) {
    if (this.calls.has(id)) return false;
    this.calls.add(id);
    if (this.calls.size > CALLS_KEPT) this.calls.delete(this.calls.values().next().value);
    return true;
  }

  resync() { this.socket.emit("resync"); }
}

// Live incident updates over Server-Sent Events, read with fetch so that every reconnect can send the
// last event id (EventSource only does that for its own automatic retries). Reconnects with backoff after
// network loss; de-duplicates by incident id + updated_at so a replayed event is applied once.

const MAX_BACKOFF_MS = 15000;

export class LiveStream {
  /**
   * @param {(incident: object) => void} onIncident called once per new (id, updated_at)
   * @param {(state: "connecting"|"open"|"down") => void} onState connection state for the banner
   * @param {() => void} onResync the platform could not replay from our last id: refetch the lists
   * @param {(reason: string) => void} onEnd the platform ended the stream: "signed_out" (the stream stops
   *   here) or "scope_changed" (it reconnects with the new scope after the resync)
   */
  constructor(onIncident, onState, onResync = () => {}, onEnd = () => {}) {
    this.onIncident = onIncident;
    this.onState = onState;
    this.onResync = onResync;
    this.onEnd = onEnd;
    this.lastEventId = sessionStorage.getItem("nitrosignal.lastEventId") || "";
    this.seen = new Map(); // incident id -> updated_at of the newest version applied
    this.controller = null;
    this.backoff = 500;
    this.stopped = true;
    this.timer = 0;
    this.reconnects = 0;
    window.addEventListener("online", () => this.reconnectNow());
  }

  /** Remember an incident version that arrived some other way (a list fetch), so the stream skips it. */
  markSeen(incident) {
    const previous = this.seen.get(incident.id);
    if (!previous || Date.parse(incident.updated_at) > Date.parse(previous)) {
      this.seen.set(incident.id, incident.updated_at);
    }
  }

  /** True when this exact version (or a newer one) was already applied. */
  isDuplicate(incident) {
    const previous = this.seen.get(incident.id);
    return previous !== undefined && Date.parse(incident.updated_at) <= Date.parse(previous);
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.controller) this.controller.abort();
    this.controller = null;
  }

  reconnectNow() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (this.controller) this.controller.abort();
    this.backoff = 500;
    this.connect();
  }

  async connect() {
    const controller = new AbortController();
    this.controller = controller;
    this.onState("connecting");
    const headers = { Accept: "text/event-stream" };
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    try {
      const response = await fetch("/api/v1/stream", {
        headers, credentials: "same-origin", cache: "no-store", signal: controller.signal,
      });
      if (!response.ok || !response.body) throw new Error(`stream: HTTP ${response.status}`);
      this.onState("open");
      this.backoff = 500;
      await this.read(response.body.getReader());
    } catch (error) {
      if (controller.signal.aborted && this.controller !== controller) return; // replaced by a new connection
    }
    if (this.controller !== controller || this.stopped) return;
    this.onState("down");
    this.reconnects += 1;
    this.timer = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  async read(reader) {
    const decoder = new TextDecoder();
    let buffer = "";
    let event = { type: "message", data: [], id: null };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          this.dispatch(event);
          event = { type: "message", data: [], id: null };
          continue;
        }
        if (line.startsWith(":")) continue; // comment / keep-alive
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event.type = val;
        else if (field === "data") event.data.push(val);
        else if (field === "id") event.id = val;
      }
    }
  }

  dispatch(event) {
    if (event.id !== null) {
      this.lastEventId = event.id;
      sessionStorage.setItem("nitrosignal.lastEventId", event.id);
    }
    if (event.type === "resync") {
      this.onResync();
      return;
    }
    if (event.type === "end") {
      let reason = "";
      try {
        reason = JSON.parse(event.data.join("\n")).reason || "";
      } catch {
        /* an end without a reason still ends */
      }
      if (reason !== "scope_changed") this.stop();
      this.onEnd(reason);
      return;
    }
    if (event.type !== "incident" || event.data.length === 0) return;
    let payload;
    try {
      payload = JSON.parse(event.data.join("\n"));
    } catch {
      return;
    }
    const incident = payload && payload.incident ? payload.incident : payload;
    if (!incident || !incident.id) return;
    if (this.isDuplicate(incident)) return;
    this.markSeen(incident);
    this.onIncident(incident);
  }
}
